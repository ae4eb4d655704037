"""Time the plan reader on 1, 5 and 20 MB of realistic plan text and show it is linear.

    .venv/bin/python -m bench.reader            # 1, 5, 20 MB
    .venv/bin/python -m bench.reader 1 2 4      # other sizes (MB)

The input repeats the corpus's text documents and the shared sample as sections of one plan
(每个文件一个“一、”部分, tasks renumbered), so every line kind the reader knows is exercised and
the task count grows with the size. Prints seconds, MB/s and tasks found per size.
"""
import os
import sys
import time
from pathlib import Path

from webapp.plans.reader import _FOOTER_RE, read_plan

ROOT = Path(__file__).resolve().parent.parent
SOURCES = sorted((ROOT / "tests" / "fixtures" / "corpus").glob("*.txt")) + [
    ROOT / "tests" / "fixtures" / "plans" / "sample-2023.txt"]


def _block() -> str:
    parts = []
    for path in SOURCES:
        data = path.read_bytes()
        text = data.decode("utf-8", errors="ignore")
        # Without the titles and website footers, which would end the plan early.
        parts.append("\n".join(line for line in text.splitlines()[1:] if not _FOOTER_RE.search(line)))
    return "\n".join(parts) + "\n"


def plan_text(megabytes: float) -> bytes:
    block = _block()
    target = int(megabytes * 1024 * 1024)
    out = ["XX学院2023年意识形态工作方案\n"]
    size = len(out[0].encode())
    while size < target:
        out.append(block)
        size += len(block.encode())
    return "".join(out).encode("utf-8")[:target].decode("utf-8", errors="ignore").encode("utf-8")


def measure(megabytes: float) -> tuple[float, float, int]:
    """(wall seconds, CPU seconds of this process, tasks found)."""
    data = plan_text(megabytes)
    started, cpu = time.perf_counter(), time.process_time()
    plan = read_plan(data, year=2023)
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    return seconds, cpu, sum(len(s["tasks"]) for s in plan["sections"])


def main(argv: list[str]) -> None:
    sizes = [float(a) for a in argv] or [1, 5, 20]
    rows = []
    print(f"load average before: {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs "
          "(wall time grows with other work on the machine; CPU time is the reader's own)")
    for mb in sizes:
        seconds, cpu, tasks = measure(mb)
        rows.append((mb, cpu, tasks))
        print(f"{mb:>5g} MB  wall {seconds:7.2f} s  CPU {cpu:7.2f} s  {mb / cpu:6.2f} MB/s CPU  "
              f"{tasks:>7} tasks  {cpu / mb:6.3f} CPU s per MB", flush=True)
    if len(rows) > 1:
        first, last = rows[0], rows[-1]
        ratio = (last[1] / last[0]) / (first[1] / first[0])
        print(f"CPU time per MB at {last[0]:g} MB / at {first[0]:g} MB: {ratio:.2f} (1.0 = linear)")


if __name__ == "__main__":
    main(sys.argv[1:])
