"""The optional link check before a run: which media links answer, without spending credits."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from bulk_transcribe.plurals import counted
from bulk_transcribe.service.inputs import IngestResult, LinkCheck, check_links
from bulk_transcribe.settings import Settings

_RESULTS_KEY = "link_checks"
_VERDICTS = {True: "ok", False: "failed", None: "—"}


def render_link_check(ingested: IngestResult | None, settings: Settings) -> None:
    specs = list(ingested.items) if ingested else []
    if st.button(
        "Check links first",
        icon=":material/fact_check:",
        key="check-links",
        disabled=not specs,
        help="Asks each media link or feed whether it answers (no download, no provider "
        "call, no credits spent). YouTube links are checked when they run.",
    ):
        with st.spinner(f"Checking {counted(len(specs), 'link')}…"):
            st.session_state[_RESULTS_KEY] = check_links(specs, settings)
    results: list[LinkCheck] = st.session_state.get(_RESULTS_KEY, [])
    current = {spec.source for spec in specs}
    results = [r for r in results if r.source in current]  # the input may have changed since
    if not results:
        return
    failing = [r for r in results if r.ok is False]
    answering = sum(1 for r in results if r.ok)
    if failing:
        st.warning(
            f"**{counted(len(failing), 'link')} did not answer** ({answering:,} did); they "
            "would fail when the session runs. Remove them from the input, or start anyway.",
            icon=":material/link_off:",
        )
        st.code("\n".join(r.source for r in failing), language=None, height=120)
    else:
        st.success(
            "The checked link answers."
            if answering == 1
            else f"All {answering:,} checked links answer.",
            icon=":material/link:",
        )
    with st.expander(f"Link check ({len(results)})"):
        st.dataframe(
            pd.DataFrame(
                [
                    (r.source, {True: "ok", False: "failed", None: "—"}[r.ok], r.detail)
                    for r in results
                ],
                columns=["Link", "Check", "Detail"],
            ),
            hide_index=True,
            width="stretch",
        )
