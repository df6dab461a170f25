"""The memory one call adds, as Linux accounts it (/proc/self/status): anonymous memory
sampled every millisecond while the call runs (the GIL is released in nnfast's loops), and
bounded below again by the peak RSS (VmHWM, reset before the call) less the mapped file
pages, so that a memory-mapped X's pages never count as the fit's own. Used by
benchmarks/memmap.py and tests/test_memmap.py, each in a fresh interpreter.
"""
from __future__ import annotations

import threading
import time
import tracemalloc
from collections.abc import Callable
from typing import Any

__all__ = ["measure", "status"]

_FIELDS = ("RssAnon", "RssFile", "RssShmem", "VmHWM")


def status() -> dict[str, int]:
    """RssAnon, RssFile, RssShmem and VmHWM of this process, in bytes."""
    out = {}
    with open("/proc/self/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in _FIELDS:
                out[key] = int(value.split()[0]) * 1024
    return out


def _mapped(s: dict[str, int]) -> int:
    """The pages of mapped files: RssFile, or RssShmem for a file on a tmpfs."""
    return s["RssFile"] + s["RssShmem"]


def _reset_peak() -> bool:
    """Reset VmHWM to the current RSS (Linux >= 4.0); False where that is refused."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def measure(call: Callable[[], Any], numpy: bool = False) -> dict[str, Any]:
    """Run call(); return its seconds, the anonymous memory it added at its peak
    ("added", bytes), the anonymous memory before it ("base_anon"), the peak RSS
    ("vmhwm"), the file pages it mapped in ("file_pages") and, with numpy=True, the peak
    of the allocations tracemalloc saw (NumPy's arrays among them; "numpy", else None)."""
    base = status()
    hwm = _reset_peak()
    peak = {"anon": base["RssAnon"], "file": _mapped(base)}
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            s = status()
            peak["anon"] = max(peak["anon"], s["RssAnon"])
            peak["file"] = max(peak["file"], _mapped(s))
            time.sleep(0.001)

    sampler = threading.Thread(target=sample)
    if numpy:
        tracemalloc.start()
    sampler.start()
    t0 = time.perf_counter()
    try:
        call()
    finally:
        seconds = time.perf_counter() - t0
        done.set()
        sampler.join()
        traced = tracemalloc.get_traced_memory()[1] if numpy else None
        if numpy:
            tracemalloc.stop()
    end = status()
    added = peak["anon"] - base["RssAnon"]
    if hwm:  # VmHWM = max(anon + file + shmem) over the call; mapped pages <= their max
        added = max(added, end["VmHWM"] - max(peak["file"], _mapped(end)) - base["RssAnon"])
    return {"seconds": seconds, "added": added, "base_anon": base["RssAnon"],
            "vmhwm": end["VmHWM"], "file_pages": _mapped(end) - _mapped(base), "numpy": traced}
