"""`bulk-transcribe ask`: every sentence with links to its moments, the passages used shown."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.chat.test_passages import make_store
from tests.fakes.chat_server import FakeChatServer
from tests.samples import REPO


def ask_cli(tmp_path: Path, server: FakeChatServer, *args: str):
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("BULK_TRANSCRIBE_CHAT")},
        "PYTHONPATH": str(REPO / "src"),
        "COLUMNS": "200",
        "BULK_TRANSCRIBE_CHAT_API_BASE": server.base_url,
        "BULK_TRANSCRIBE_CHAT_MODEL": "test-model",
        "BULK_TRANSCRIBE_CHAT_API_KEY": "chat-secret-key",
        "BULK_TRANSCRIBE_RATE_LIMIT_DB": str(tmp_path / "budgets.sqlite"),
    }
    return subprocess.run(
        [sys.executable, "-m", "bulk_transcribe", "ask", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
    )


def test_ask_prints_each_sentence_with_its_links_and_the_passages_used(tmp_path: Path) -> None:
    store, _ = make_store(tmp_path)
    store.close()
    out = tmp_path / "out"
    answer = {"sentences": [{"text": "Tomatoes want full sun.", "citations": [1, 5]}]}
    with FakeChatServer(default=json.dumps(answer)) as server:
        result = ask_cli(tmp_path, server, "How much sun do tomatoes need?", "--out", str(out))
        assert result.returncode == 0, result.stdout + result.stderr
        garden = (tmp_path / "media" / "garden.wav").as_uri()
        assert "Tomatoes want full sun. [1]" in result.stdout
        assert f"[1] {garden}#t=10" in result.stdout
        assert "Passages used" in result.stdout
        assert "Tomatoes need full sun and deep watering." in result.stdout
        assert "1 citation to passages that were not given was dropped" in result.stderr
        assert "chat-secret-key" not in result.stdout + result.stderr

        nothing = ask_cli(tmp_path, server, "Where do zebras migrate?", "--out", str(out))
        assert nothing.returncode == 1
        assert "Nothing relevant found" in nothing.stdout and "not asked" in nothing.stdout
        assert len(server.bodies) == 1

        as_json = ask_cli(tmp_path, server, "tomatoes?", "--out", str(out), "--json")
        (sentence,) = json.loads(as_json.stdout)["sentences"]
        assert sentence["links"] == [f"{garden}#t=5"]  # "Today we plant tomatoes."


def test_ask_warns_of_a_quotation_the_passages_do_not_hold(tmp_path: Path) -> None:
    store, _ = make_store(tmp_path)
    store.close()
    out = tmp_path / "out"
    made_up = 'The host said "tomatoes hate the sun entirely".'
    answer = {"sentences": [{"text": made_up, "citations": [1]}]}
    with FakeChatServer(default=json.dumps(answer)) as server:
        result = ask_cli(tmp_path, server, "How much sun do tomatoes need?", "--out", str(out))
        assert result.returncode == 0, result.stdout + result.stderr
        assert "not found in the passages it cites" in result.stdout
        assert "tomatoes hate the sun entirely" in result.stderr + result.stdout
        as_json = ask_cli(tmp_path, server, "tomatoes?", "--out", str(out), "--json")
        (sentence,) = json.loads(as_json.stdout)["sentences"]
        assert sentence["unfound_quotes"] == ["tomatoes hate the sun entirely"]
