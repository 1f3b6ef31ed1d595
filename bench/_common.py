"Helpers shared by the benchmark scripts."
import platform
from pathlib import Path

def cpu_model() -> str:
    "The CPU's model name, from /proc/cpuinfo where there is one."
    info = Path('/proc/cpuinfo')
    if info.exists():
        for line in info.read_text().splitlines():
            if line.startswith('model name'): return line.split(':', 1)[1].strip()
    return platform.processor()
