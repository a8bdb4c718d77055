"""Write the sample recordings that prove the audio path: short silent MP3s (MPEG-1 Layer III,
32 kbit/s, 32 kHz, mono; frames whose side information is all zero decode as silence). Real
recordings replace them; `shouwang content check` validates whatever is there.

    python scripts/make_sample_audio.py content/media/audio/lessons/after_parent_leaves.zh-Hans.mp3 2
"""
from __future__ import annotations

import sys
from pathlib import Path

FRAME = bytes([0xFF, 0xFB, 0x18, 0xC4]) + bytes(140)  # 144 bytes = 36 ms
FRAMES_PER_SECOND = 32000 / 1152


def silent_mp3(seconds: float) -> bytes:
    return FRAME * max(1, round(seconds * FRAMES_PER_SECOND))


if __name__ == "__main__":
    path = Path(sys.argv[1])
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(silent_mp3(float(sys.argv[2]) if len(sys.argv) > 2 else 2.0))
    print(f"{path}: {path.stat().st_size} bytes")
