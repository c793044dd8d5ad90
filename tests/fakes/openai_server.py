"""A fake OpenAI-compatible transcription server: POST {base}/audio/transcriptions.

Speaks the documented multipart protocol (file, model, language, response_format,
timestamp_granularities[]) and answers json, verbose_json or text. On top of the knobs of
`FakeProviderServer` (latency, rpm with 429 + Retry-After, faults, api_key):
`formats` (what it supports; others get 400 like faster-whisper-server does),
`max_upload_bytes` (413 above it), `transcriber` (what it hears in an upload) and
`models` (what GET /v1/models lists).

From a benchmark:  python -m tests.fakes.openai_server --port 8089 --latency 0.5 --rpm 300
"""

from __future__ import annotations

import argparse
import time

from tests.fakes.base import FakeProviderServer, Reply, Request
from tests.fakes.transcripts import Transcriber, sample_transcriber

ALL_FORMATS = frozenset({"json", "verbose_json", "text"})
# https://platform.openai.com/docs/api-reference/models/list
DEFAULT_MODELS = ("whisper-1", "gpt-4o-transcribe")


class FakeOpenAIServer(FakeProviderServer):
    def __init__(
        self,
        *,
        formats: frozenset[str] = ALL_FORMATS,
        max_upload_bytes: int | None = None,
        transcriber: Transcriber = sample_transcriber,
        models: tuple[str, ...] | None = DEFAULT_MODELS,
        **knobs,
    ):
        super().__init__(**knobs)
        self.models = models  # GET /v1/models lists these; None: no model list (404)
        self.formats = formats
        self.max_upload_bytes = max_upload_bytes
        self.transcriber = transcriber

    @property
    def base_url(self) -> str:
        return f"{self.url}/v1"

    def route(self, request: Request) -> Reply:
        if request.method == "GET" and request.path == "/v1/models" and self.models is not None:
            return Reply(
                200,
                {"object": "list",
                 "data": [{"id": name, "object": "model", "created": 0, "owned_by": "fake"}
                          for name in self.models]},
            )  # fmt: skip
        if request.method != "POST" or request.path != "/v1/audio/transcriptions":
            return Reply(404, {"error": {"message": f"no route {request.path}"}})
        upload = request.files.get("file")
        if upload is None or not request.fields.get("model"):
            return Reply(400, {"error": {"message": "file and model are required"}})
        if self.max_upload_bytes is not None and len(upload.content) > self.max_upload_bytes:
            return Reply(413, {"error": {"message": "Maximum content size limit exceeded"}})
        response_format = request.fields.get("response_format", "json")
        if response_format not in self.formats:
            return Reply(
                400,
                {"error": {"message": f"Unsupported response_format: {response_format}",
                           "type": "invalid_request_error"}},
            )  # fmt: skip
        try:
            heard = self.transcriber(upload.filename, upload.content)
        except Exception as exc:  # undecodable upload: what servers answer for bad media
            return Reply(400, {"error": {"message": f"Invalid file format: {exc}"}})
        if response_format == "text":
            return Reply(200, heard.text + "\n", {"Content-Type": "text/plain; charset=utf-8"})
        if response_format == "json":
            return Reply(200, {"text": heard.text})
        return Reply(
            200,
            {
                "task": "transcribe",
                "language": heard.language,
                "duration": heard.duration,
                "text": heard.text,
                "segments": [
                    {"id": i, "start": start, "end": end, "text": f" {text}"}
                    for i, (start, end, text) in enumerate(heard.segments)
                ],
            },
        )

    def transcription_requests(self):
        return self.requests_to("/v1/audio/transcriptions")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8089)
    parser.add_argument("--latency", type=float, default=0.0, help="seconds per answer")
    parser.add_argument("--rpm", type=int, default=None, help="requests per minute, then 429")
    parser.add_argument("--fault-rate", type=float, default=0.0, help="share of 5xx/drops")
    parser.add_argument("--api-key", default=None)
    args = parser.parse_args()
    server = FakeOpenAIServer(
        port=args.port,
        latency=args.latency,
        rpm=args.rpm,
        fault_rate=args.fault_rate,
        api_key=args.api_key,
    ).start()
    print(f"fake OpenAI-compatible server on {server.base_url}", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        server.stop()


if __name__ == "__main__":
    main()
