"""A fake OpenAI-compatible chat server: POST {base}/chat/completions, answering as scripted.

Each request takes the next scripted answer: a string (the assistant's content, valid JSON or
not), a callable given the request's messages, or "timeout" (sleep past the client's timeout,
then answer). Without a script it answers from `default`. Usage counts are reported like
OpenAI's (prompt_tokens from the request's length, completion_tokens from the answer's).
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from tests.fakes.base import FakeProviderServer, Reply, Request

Script = str | Callable[[list[dict[str, Any]]], str]
TIMEOUT = "timeout"


class FakeChatServer(FakeProviderServer):
    def __init__(self, default: Script = "{}", stall_seconds: float = 3.0, **knobs):
        super().__init__(**knobs)
        self.default = default
        self.stall_seconds = stall_seconds
        self.script: deque[Script] = deque()
        self.bodies: list[dict[str, Any]] = []
        self._script_lock = threading.Lock()

    @property
    def base_url(self) -> str:
        return f"{self.url}/v1"

    def then(self, *answers: Script) -> FakeChatServer:
        with self._script_lock:
            self.script.extend(answers)
        return self

    def route(self, request: Request) -> Reply:
        if request.method != "POST" or request.path != "/v1/chat/completions":
            return Reply(404, {"error": {"message": f"no route {request.path}"}})
        body = request.json
        self.bodies.append(body)
        if not body.get("model") or not body.get("messages"):
            return Reply(400, {"error": {"message": "model and messages are required"}})
        with self._script_lock:
            answer = self.script.popleft() if self.script else self.default
        if answer == TIMEOUT:
            time.sleep(self.stall_seconds)
            answer = self.default
        content = answer(body["messages"]) if callable(answer) else answer
        prompt_chars = sum(len(str(m.get("content", ""))) for m in body["messages"])
        return Reply(
            200,
            {
                "id": f"chatcmpl-{len(self.bodies)}",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": body["model"],
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": content},
                        "finish_reason": "stop",
                    }
                ],
                "usage": {
                    "prompt_tokens": prompt_chars // 4,
                    "completion_tokens": len(content) // 4,
                    "total_tokens": prompt_chars // 4 + len(content) // 4,
                },
            },
        )
