"""Recording files: a header and rotated gzip JSON Lines of frames, written off the event loop.

A recording is a directory:

    header.json              arb version, start time, the settings used (no secrets)
    frames-000001.jsonl.gz   one JSON object per line, in the order they were received:
    frames-000002.jsonl.gz   {"t_ns", "wall_ms", "venue", "conn", "kind", "where",
    ...                       "text" | "b64", "params"?}

`kind` is "markets" (ccxt's markets when loaded), "ws" (a WebSocket frame: `where` is its
URL, `text`, or `b64` for binary MEXC protobuf) or "rest" (a REST book answer: `where` is
the ccxt call, `params` its parameters). The writer flushes a complete gzip block at least
every second, so a crash loses at most the last second; the reader stops cleanly at a
truncated end.
"""

from __future__ import annotations

import base64
import gzip
import json
import queue
import threading
import time
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

HEADER = "header.json"
PATTERN = "frames-*.jsonl.gz"
FORMAT = 1


@dataclass(frozen=True, slots=True)
class Frame:
    """One recorded arrival."""

    t_ns: int  # monotonic receive time, ns
    wall_ms: int  # wall clock at receipt
    venue: str
    conn: int  # which of the venue's ccxt instances (connections) received it
    kind: str  # "markets", "ws" or "rest"
    where: str  # URL (ws), ccxt call (rest), ccxt id (markets)
    payload: str | bytes
    params: str | None = None

    def line(self) -> dict[str, Any]:
        """The JSON object stored for this frame."""
        out: dict[str, Any] = {
            "t_ns": self.t_ns,
            "wall_ms": self.wall_ms,
            "venue": self.venue,
            "conn": self.conn,
            "kind": self.kind,
            "where": self.where,
        }
        if isinstance(self.payload, bytes):
            out["b64"] = base64.b64encode(self.payload).decode()
        else:
            out["text"] = self.payload
        if self.params is not None:
            out["params"] = self.params
        return out


def frame_of(obj: dict[str, Any]) -> Frame:
    """A Frame from its stored JSON object."""
    b64 = obj.get("b64")
    payload: str | bytes = base64.b64decode(b64) if b64 is not None else obj["text"]
    return Frame(
        t_ns=int(obj["t_ns"]),
        wall_ms=int(obj["wall_ms"]),
        venue=str(obj["venue"]),
        conn=int(obj.get("conn", 0)),
        kind=str(obj["kind"]),
        where=str(obj["where"]),
        payload=payload,
        params=obj.get("params"),
    )


@dataclass(frozen=True, slots=True)
class Usage:
    """What a recording put on disk."""

    files: int
    bytes: int
    frames: int
    dropped: int  # frames the writer could not keep up with (bounded queue full)


_IDLE = Frame(0, 0, "", 0, "idle", "", "")  # nothing arrived within flush_s


class FrameWriter:
    """Writes frames from a thread: `put` never blocks the event loop and memory is bounded."""

    def __init__(
        self,
        out: Path,
        *,
        rotate_bytes: int = 64 * 1024 * 1024,
        rotate_s: float = 3600.0,
        flush_s: float = 1.0,
        max_queue: int = 100_000,
    ) -> None:
        self.out = out
        out.mkdir(parents=True, exist_ok=True)
        self._rotate_bytes = rotate_bytes
        self._rotate_s = rotate_s
        self._flush_s = flush_s
        self._queue: queue.Queue[Frame | None] = queue.Queue(maxsize=max_queue)
        self.frames = 0
        self.dropped = 0
        self._index = 0
        self._thread = threading.Thread(target=self._run, name="arb-recorder", daemon=True)
        self._thread.start()

    def put(self, frame: Frame) -> None:
        """Queue one frame; counted as dropped if the writer is a full queue behind."""
        try:
            self._queue.put_nowait(frame)
        except queue.Full:
            self.dropped += 1

    def close(self) -> Usage:
        """Write what is queued, close the file and report the disk use."""
        self._queue.put(None)
        self._thread.join()
        files = sorted(self.out.glob(PATTERN))
        size = sum(f.stat().st_size for f in files)
        return Usage(len(files), size, self.frames, self.dropped)

    def _open(self) -> tuple[IO[bytes], gzip.GzipFile]:
        self._index += 1
        raw = (self.out / f"frames-{self._index:06d}.jsonl.gz").open("wb")
        return raw, gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=5)

    def _run(self) -> None:
        raw, gz = self._open()
        opened = flushed = time.monotonic()
        written = 0
        try:
            while True:
                try:
                    frame = self._queue.get(timeout=self._flush_s)
                except queue.Empty:
                    frame = _IDLE
                if frame is None:
                    return
                if frame is not _IDLE:
                    data = (json.dumps(frame.line(), separators=(",", ":")) + "\n").encode()
                    gz.write(data)
                    written += len(data)
                    self.frames += 1
                now = time.monotonic()
                if written >= self._rotate_bytes or now - opened >= self._rotate_s:
                    gz.close()
                    raw.close()
                    raw, gz = self._open()
                    opened, written = now, 0
                elif now - flushed >= self._flush_s:
                    # A complete deflate block on disk: a reader gets everything up to here
                    # even if the process dies before the gzip trailer is written.
                    gz.flush(zlib.Z_SYNC_FLUSH)
                    raw.flush()
                    flushed = now
        finally:
            gz.close()
            raw.close()


def write_header(out: Path, header: dict[str, Any]) -> None:
    """Write the recording's header (before any frame)."""
    out.mkdir(parents=True, exist_ok=True)
    (out / HEADER).write_text(json.dumps({"format": FORMAT, **header}, indent=2) + "\n")


def read_header(folder: Path) -> dict[str, Any]:
    """The recording's header; ValueError if `folder` is not a recording."""
    path = folder / HEADER
    if not path.is_file():
        raise ValueError(f"{folder} is not a recording (no {HEADER})")
    header: dict[str, Any] = json.loads(path.read_text())
    if header.get("format") != FORMAT:
        raise ValueError(f"{path}: unknown recording format {header.get('format')!r}")
    return header


def read_frames(folder: Path) -> Iterator[Frame]:
    """Every frame of the recording in the order received; a truncated end is where it stops."""
    for path in sorted(folder.glob(PATTERN)):
        yield from _frames_of(path)


def _frames_of(path: Path) -> Iterator[Frame]:
    with gzip.open(path, "rb") as gz:
        while True:
            try:
                line = gz.readline()
            except (EOFError, zlib.error, gzip.BadGzipFile):
                return  # the writer died mid-file: everything flushed before is intact
            if not line:
                return
            if not line.endswith(b"\n"):
                return  # a partial last line
            yield frame_of(json.loads(line))
