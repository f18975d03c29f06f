#!/usr/bin/python3
"""Write an assembly file and a version script for a stand-in of a shared library: same soname,
same exported symbols (names, versions, types, object sizes), no code. A function stub
executes ud2, so a call that was thought never to happen fails loudly (SIGILL).
Usage: make_stub.py REAL_LIBRARY OUT.s OUT.map, then
       gcc -shared -nostdlib -Wl,-soname,SONAME -Wl,--version-script=OUT.map OUT.s (pack.sh)"""
import re
import subprocess
import sys

real, asm_path, map_path = sys.argv[1:4]
out = subprocess.run(["readelf", "--dyn-syms", "-W", real], check=True, capture_output=True,
                     text=True).stdout
syms = []  # (name, version or None, default?, type, size)
for line in out.splitlines():
    f = line.split()
    if len(f) < 8 or not f[0].endswith(":") or f[6] in ("UND", "Ndx", "ABS"):
        continue
    if f[4] not in ("GLOBAL", "WEAK") or f[5] not in ("DEFAULT", "PROTECTED"):
        continue
    name, typ = f[7], f[3]
    m = re.match(r"^(.*?)(@@?)(.*)$", name)
    version, default = None, True
    if m:
        name, version, default = m.group(1), m.group(3), m.group(2) == "@@"
        if name == version:  # the version node's own marker symbol
            continue
    syms.append((name, version, default, typ, int(f[2], 0) if f[2].startswith("0x") else int(f[2])))

versions = sorted({v for _, v, _, _, _ in syms if v})
with open(asm_path, "w") as a:
    for i, (name, version, default, typ, size) in enumerate(syms):
        label = f"stub_{i}" if version else name
        if typ in ("FUNC", "IFUNC", "NOTYPE"):
            a.write(f'.text\n.globl "{label}"\n.type "{label}",@function\n"{label}":\nud2\n')
        elif typ == "TLS":
            a.write(f'.section .tbss,"awT",@nobits\n.globl "{label}"\n.type "{label}",@object\n'
                    f'.size "{label}",{max(size, 1)}\n"{label}":\n.zero {max(size, 1)}\n')
        else:
            a.write(f'.data\n.balign 16\n.globl "{label}"\n.type "{label}",@object\n'
                    f'.size "{label}",{max(size, 1)}\n"{label}":\n.zero {max(size, 1)}\n')
        if version:
            a.write(f'.symver "{label}","{name}{"@@" if default else "@"}{version}"\n')
    a.write('.section .note.GNU-stack,"",@progbits\n')
with open(map_path, "w") as m:
    if versions:
        for i, v in enumerate(versions):
            m.write(f"{v} {{ {'local: stub_*;' if i == 0 else ''} }};\n")
    else:
        m.write("{ global: *; };\n")
print(f"{real}: {len(syms)} symbols, {len(versions)} versions")
