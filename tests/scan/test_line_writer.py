"""LineWriter: every line arrives once, in order, whether written directly or by its thread."""

from __future__ import annotations

import io
import os
import threading

from arb.scan.output import LineWriter


def test_lines_to_a_text_buffer_go_through_the_thread_in_order() -> None:
    out = io.StringIO()
    writer = LineWriter(out)
    for n in range(100):
        writer.write(f'{{"n":{n}}}')
    writer.close()
    assert out.getvalue().splitlines() == [f'{{"n":{n}}}' for n in range(100)]


def test_lines_to_a_pipe_stay_in_order_when_the_pipe_fills() -> None:
    # 2,000 lines of 200 bytes overflow a 64 KiB pipe nobody reads yet: the first go straight
    # in, the rest queue behind them for the thread, and the reader gets all of them in order.
    read_fd, write_fd = os.pipe()
    received: list[bytes] = []
    with os.fdopen(write_fd, "w") as stream:
        writer = LineWriter(stream)
        lines = [f"{n:05d}" + "x" * 195 for n in range(2_000)]
        for line in lines:
            writer.write(line)

        def read_all() -> None:
            with os.fdopen(read_fd, "rb") as pipe:
                received.append(pipe.read())

        reader = threading.Thread(target=read_all)
        reader.start()
        writer.close()
    reader.join()
    assert received[0].decode().splitlines() == lines
