"""A session run in this process: the runner on a thread of its own, the live view in
front, SIGTERM and SIGHUP taken as a stop, and what the run's end prints."""

from __future__ import annotations

import shlex
import signal
import sys
import threading
from collections import Counter
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass

import typer

from bulk_transcribe import service
from bulk_transcribe.errors import (
    ErrorKind,
    ModelPart,
    TranscribeError,
    model_part_of,
    retry_on_resume,
)
from bulk_transcribe.models import Session, SessionCounts
from bulk_transcribe.plurals import counted
from bulk_transcribe.redact import scrub_text
from bulk_transcribe.settings import Settings
from bulk_transcribe.store import Store

from .common import (
    EXIT_OK,
    EXIT_SOME_FAILED,
    busy_error,
    console,
    errors,
    usage_error,
    where_options,
)
from .progress import describe_metrics, shown, watch
from .reports import BIG_SESSION_ITEMS, print_counts, print_items

# After SIGTERM/SIGHUP, running items get this long to finish before they are put back in
# the queue: service managers and `timeout` send SIGKILL soon after (Docker: 10 s).
TERMINATE_GRACE_SECONDS = 5.0
# EX_TEMPFAIL, as for a busy update: another process has the session now.
EXIT_TAKEN_OVER = 75


def run_and_watch(
    store: Store,
    session: Session,
    settings: Settings,
    engine: service.providers.Engine | None = None,
    links: Mapping[str, str] | None = None,
) -> SessionCounts:
    """Run the session here with a live view; `engine` is the run's (already loading)
    engine, or None for the runner to create its own; `links` the real links of its items
    stored scrubbed (links.py)."""
    if settings.executor == "ray":
        where = settings.ray_address or "a local instance"
        console.print(f"Starting Ray workers on {where}…", highlight=False)
    # An executor that cannot start (Ray missing or unreachable) is a TranscribeError:
    # main() prints it as the usage error it is.
    with (
        service.open_run(store, session.id, settings, engine=engine, links=links) as runner,
        _stop_on_termination(runner),
    ):
        return _watch_runner(runner, store, session)


@contextmanager
def _stop_on_termination(runner: service.Runner) -> Iterator[None]:
    """SIGTERM and SIGHUP stop the run like a first Ctrl-C; items still running after a
    short grace go back to the queue, so the process ends within seconds, resumable."""

    def terminate(signum: int, _frame: object) -> None:
        errors.print(
            f"{signal.Signals(signum).name}: stopping; running items that do not finish in "
            f"{TERMINATE_GRACE_SECONDS:.0f} s go back to the queue."
        )
        runner.request_stop()
        timer = threading.Timer(TERMINATE_GRACE_SECONDS, runner.request_cancel)
        timer.daemon = True
        timer.start()

    handled = [signal.SIGTERM] + ([signal.SIGHUP] if hasattr(signal, "SIGHUP") else [])
    if threading.current_thread() is not threading.main_thread():
        yield  # only the main thread may set handlers (e.g. under a test runner's thread)
        return
    previous = {sig: signal.signal(sig, terminate) for sig in handled}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _watch_runner(runner: service.Runner, store: Store, session: Session) -> SessionCounts:
    outcome: dict[str, BaseException] = {}
    finished = threading.Event()

    def work() -> None:
        try:
            runner.run()
        except BaseException as exc:  # shown after the live view closes
            outcome["error"] = exc
        finally:
            finished.set()

    def on_interrupt(times: int) -> None:
        if times == 1:
            errors.print("Stopping after the running items… (Ctrl-C again to cancel them)")
            runner.request_stop()
        else:
            errors.print("Cancelling running items; the session stays resumable.")
            runner.request_cancel()

    worker = threading.Thread(target=work, name="runner")
    worker.start()
    watch(console, store, session.id, finished, on_interrupt)
    worker.join()
    if isinstance(outcome.get("error"), service.SessionBusy):
        raise busy_error(session, outcome["error"].owner, store.path)
    if "error" in outcome:
        raise outcome["error"]
    if runner.taken_over:
        raise _taken_over(store, session)
    counts = store.counts(session.id)
    print_items(store, session, counts, only_problems=counts.total > BIG_SESSION_ITEMS)
    print_counts(counts)
    console.print(describe_metrics(store.metrics(session.id)), highlight=False)
    _report_summaries(store, session)
    final = store.get_session(session.id)
    console.print(f"Session folder: {session.folder}", highlight=False)
    out_option = where_options(session, store.path)
    failed_by_kind = store.failed_by_kind(session.id) if counts.failed else {}
    if failed_by_kind.get(ErrorKind.MODEL):
        _print_rerun_hint(store, final, out_option)
    elif counts.queued or counts.running:
        console.print(
            f"Session {final.status.value}. Resume with: bulk-transcribe resume {session.id}"
            + out_option,
            highlight=False,
        )
    elif counts.failed:
        _print_retry_hint(session, out_option, failed_by_kind)
    return counts


def _print_retry_hint(session: Session, out_option: str, by_kind: Mapping[str | None, int]) -> None:
    """After a batch with failures: which command tries them again, the ones a plain resume
    retries (network, time limits, busy servers, a full disk) counted apart."""
    failed = sum(by_kind.values())
    passing = sum(count for kind, count in by_kind.items() if retry_on_resume(kind))
    command = f"bulk-transcribe resume {session.id}{out_option}"
    if passing:
        if passing < failed:
            which = f"{passing:,} of the {counted(failed, 'failed item')}"
        else:
            which = "The failed item" if passing == 1 else f"All {counted(passing, 'failed item')}"
        console.print(
            f"{which} failed for reasons that may pass "
            f"(network, time limits, busy servers, a full disk): `{command}` tries them again; "
            "add --retry-failed to try every failed item.",
            highlight=False,
        )
    else:
        console.print(
            f"Fix what the problems above name, then `{command} --retry-failed` tries the "
            f"{counted(failed, 'failed item')} again; finished ones are kept.",
            highlight=False,
        )


@dataclass(frozen=True)
class _Fix:
    """How a new run changes the choice that failed: the flags it drops, the words in their
    place, a setting that has no flag, and why in words."""

    flags: tuple[str, ...]  # dropped with their values wherever given
    words: tuple[str, ...]  # put in their place
    advice: str
    switches: tuple[str, ...] = ()  # dropped too (they take no value)
    setting: str = ""  # NAME=value before the command


_OVERLAP_SWITCHES = ("--speaker-overlap", "--no-speaker-overlap")
_FIXES = {
    ModelPart.SPEECH: _Fix(
        ("--model",),
        ("--model", "tiny.en"),
        "`resume` keeps the session's model. Run the inputs again with one that works, e.g. "
        "the bundled one",
    ),
    ModelPart.DEVICE: _Fix(
        ("--device",),
        ("--device", "cpu"),
        "`resume` keeps the session's device. Run the inputs again on the CPU",
    ),
    ModelPart.COMPUTE_TYPE: _Fix(
        (),
        (),
        "`resume` keeps the session's compute type. Run the inputs again with the default "
        "one, int8 (the environment's setting wins over .env's)",
        setting="BULK_TRANSCRIBE_COMPUTE_TYPE=int8",
    ),
    ModelPart.SPEAKERS: _Fix(
        ("--speakers", "--speaker-encoder"),
        ("--speakers", "off"),
        "`resume` keeps the session's speaker labels. Install or repair what it names, or run "
        "the inputs again without speaker labels",
        switches=_OVERLAP_SWITCHES,
    ),
    ModelPart.SPEAKER_OVERLAP: _Fix(
        (),
        ("--no-speaker-overlap",),
        "`resume` keeps the session's settings. Install or repair what it names, or run the "
        "inputs again finding speaker turns without overlap",
        switches=_OVERLAP_SWITCHES,
    ),
}
_WHAT_FAILED = {
    ModelPart.SPEECH: "the model",
    ModelPart.DEVICE: "the device",
    ModelPart.COMPUTE_TYPE: "the compute type",
    ModelPart.SPEAKERS: "the speaker-label model",
    ModelPart.SPEAKER_OVERLAP: "the speaker segmentation model (--speaker-overlap)",
}


def _print_rerun_hint(store: Store, session: Session, out_option: str) -> None:
    """After a stop for a model every item needs: `resume` keeps the session's settings, so
    it would stop the same way; a new run that changes the choice that failed (the speech
    model, the device, the compute type, speaker labels) is the way on."""
    failed = (i.error_message for i in store.items(session.id) if i.error_kind == ErrorKind.MODEL)
    part = next(filter(None, map(model_part_of, failed)), ModelPart.SPEECH)
    console.print(
        f"Session {session.status.value}: {_WHAT_FAILED[part]} could not be used (the problem "
        f"above says why), and {_FIXES[part].advice}: "
        f"`{rerun_command(sys.argv, out_option, part)}` (items an earlier session "
        "finished are skipped, not done again).",
        highlight=False,
    )


def rerun_command(argv: list[str], out_option: str, part: ModelPart = ModelPart.SPEECH) -> str:
    """The `run` command this process was started with, changed where `part` failed (e.g.
    `--model tiny.en`, `--device cpu`); a template for other commands (a resume, the web
    app's job), which do not hold the inputs. Links in it are shown without their secrets."""
    fix = _FIXES[part]
    setting = [fix.setting] if fix.setting else []
    if len(argv) < 2 or argv[1] != "run":
        return " ".join([*setting, "bulk-transcribe run INPUTS", *fix.words]) + out_option
    words, given = [], False
    arguments = iter(argv[2:])
    for word in arguments:
        flag = word.split("=", 1)[0]
        if flag not in fix.flags and word not in fix.switches:
            words.append(scrub_text(word))
            continue
        if flag in fix.flags and "=" not in word:
            next(arguments, None)  # its value
        if not given:
            words += fix.words
            given = True
    if not given:
        words += fix.words
    return shlex.join([*setting, "bulk-transcribe", "run", *words])


def _taken_over(store: Store, session: Session) -> typer.Exit:
    """This run stalled (frozen, stuck) long enough for another process to take its session
    over: it stopped its workers and its later writes were refused; the other one goes on."""
    owner = store.get_session(session.id).owner
    who = f" (pid {owner.pid} on host {owner.host})" if owner is not None else ""
    errors.print(
        f"[bold red]error:[/] session {session.id} was taken over by another process{who} "
        "while this one was stalled; this one stopped its workers and wrote nothing more. "
        f"`bulk-transcribe status {session.id}` shows how the session goes on.",
        highlight=False,
    )
    return typer.Exit(EXIT_TAKEN_OVER)


def _report_summaries(store: Store, session: Session) -> None:
    """How many summaries were not made, and why (each reason once, the commonest first)."""
    failed = [e for e in store.events(session.id, limit=100_000) if e.kind == "summary_failed"]
    if not failed:
        return
    reasons = Counter(e.message.split("; ")[0] for e in failed)
    said = "; ".join(f"{why} ({n})" if n > 1 else why for why, n in reasons.most_common(3))
    errors.print(
        f"[yellow]warning:[/] {counted(len(failed), 'summary', 'summaries')} not made (the "
        f"transcripts are kept): {shown(said)}; `bulk-transcribe summarize {session.id}` "
        "tries again.",
        highlight=False,
    )


def exit_code(counts: SessionCounts) -> int:
    return EXIT_OK if counts.done + counts.skipped == counts.total else EXIT_SOME_FAILED


def check_summaries(settings: Settings) -> None:
    try:
        service.check_summary_settings(settings)
    except TranscribeError as exc:
        raise usage_error(exc.message) from exc
