#!/usr/bin/env python3
"""Where the emulated board spends its instructions: runs a firmware ELF under QEMU with a
weight file, logs every translated block and every block executed (`-d in_asm,exec,nochain`),
and prints the instructions executed per function and the hottest blocks (their addresses
are those of `arm-none-eabi-objdump -d`).

    scripts/profile.py [--top N] FIRMWARE.elf MODEL.nnw

The counts cover the whole run (checks, test vectors, benchmark, printing): read them as
shares, and the BENCH line for one inference. Build the firmware first
(`cargo build --release` in firmware-example; thumbv6m ELFs run on the microbit machine).
"""

import argparse
import collections
import os
import re
import subprocess
import sys
import tempfile


def model_address(elf):
    """The flash address the linker reserved for the weight file."""
    out = subprocess.run(["arm-none-eabi-nm", elf], capture_output=True, text=True, check=True).stdout
    for line in out.splitlines():
        fields = line.split()
        if len(fields) == 3 and fields[2] == "__model_start":
            return "0x" + fields[0]
    sys.exit(f"profile.py: no __model_start symbol in {elf}")


def run_logged(elf, model, log):
    machine = ["-machine", "microbit"] if "thumbv6m" in elf else ["-machine", "mps2-an386", "-cpu", "cortex-m4"]
    command = ["timeout", "300", "qemu-system-arm", *machine, "-nographic", "-monitor", "none",
               "-serial", "none", "-semihosting-config", "enable=on,target=native", "-icount", "shift=10",
               "-kernel", elf, "-device", f"loader,file={model},addr={model_address(elf)}",
               "-d", "in_asm,exec,nochain", "-D", log]
    return subprocess.run(command, capture_output=True, text=True).returncode


def profile(log):
    """Instructions executed per block start address, with each block's size and function."""
    size, function, runs = {}, {}, collections.Counter()
    block, name = None, "?"
    instruction = re.compile(r"0x([0-9a-f]{8}):")
    executed = re.compile(r"Trace \d+: 0x[0-9a-f]+ \[[0-9a-f]+/([0-9a-f]+)/")
    with open(log) as lines:
        for line in lines:
            if line.startswith("IN:"):
                block, name = None, line[3:].strip() or "?"
            elif (m := instruction.match(line)) is not None:
                if block is None:
                    block = int(m.group(1), 16)
                    size[block], function[block] = 0, name
                size[block] += 1
            elif (m := executed.match(line)) is not None:
                runs[int(m.group(1), 16)] += 1
    return {pc: (size.get(pc, 0), function.get(pc, "?"), n) for pc, n in runs.items()}


def demangle(names):
    out = subprocess.run(["arm-none-eabi-c++filt"], input="\n".join(names), capture_output=True, text=True)
    return out.stdout.splitlines() if out.returncode == 0 else names


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--top", type=int, default=15, help="rows of each table")
    parser.add_argument("elf")
    parser.add_argument("model")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        log = os.path.join(scratch, "qemu.log")
        status = run_logged(args.elf, args.model, log)
        blocks = profile(log)
    total = sum(size * n for size, _, n in blocks.values())
    per_function = collections.Counter()
    for size, name, n in blocks.values():
        per_function[name] += size * n
    print(f"{total} instructions executed (firmware exit status {status})")
    print("\ninstructions  share  function")
    top = per_function.most_common(args.top)
    for (name, count), pretty in zip(top, demangle([name for name, _ in top])):
        print(f"{count:12}  {100 * count / total:4.1f}%  {pretty}")
    print("\ninstructions  block       size  runs  function")
    hottest = sorted(blocks.items(), key=lambda kv: -kv[1][0] * kv[1][2])[: args.top]
    for (pc, (size, name, n)), pretty in zip(hottest, demangle([b[1][1] for b in hottest])):
        print(f"{size * n:12}  {pc:#010x}  {size:4}  {n:5}  {pretty}")


if __name__ == "__main__":
    main()
