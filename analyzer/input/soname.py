#!/usr/bin/env python3
"""Print the DT_SONAME of the shared library lib<NAME>.so the build links.

Usage: soname.py NAME [DIR...] -- CC [CC ARGS...]
Looks for lib<NAME>.so in each DIR (e.g. pkg-config's libdir), then asks the
compiler (-print-file-name), and reads the soname from the ELF dynamic
section: the name the dynamic loader resolves, which is what dlopen() must be
given (wiretap_load.c), never a path of the build machine."""
import os
import struct
import subprocess
import sys


def soname(path):
    with open(path, 'rb') as f:
        data = f.read()
    if data[:4] != b'\x7fELF':
        raise ValueError(f'{path}: not an ELF shared object')
    wide = data[4] == 2
    end = '<' if data[5] == 1 else '>'
    if wide:
        shoff, = struct.unpack_from(end + 'Q', data, 0x28)
        shentsize, shnum = struct.unpack_from(end + 'HH', data, 0x3A)
        shdr, dyn = end + 'IIQQQQIIQQ', end + 'qQ'
    else:
        shoff, = struct.unpack_from(end + 'I', data, 0x20)
        shentsize, shnum = struct.unpack_from(end + 'HH', data, 0x2E)
        shdr, dyn = end + 'IIIIIIIIII', end + 'iI'
    sections = [struct.unpack_from(shdr, data, shoff + i * shentsize) for i in range(shnum)]
    for s in sections:
        if s[1] != 6:  # SHT_DYNAMIC
            continue
        strtab = sections[s[6]][4]  # sh_link names .dynstr; its sh_offset
        step = struct.calcsize(dyn)
        for off in range(s[4], s[4] + s[5], step):
            tag, val = struct.unpack_from(dyn, data, off)
            if tag == 0:
                break
            if tag == 14:  # DT_SONAME
                start = strtab + val
                return data[start:data.index(b'\0', start)].decode()
    raise ValueError(f'{path}: no DT_SONAME')


def main(argv):
    sep = argv.index('--')
    name, dirs, cc = argv[1], argv[2:sep], argv[sep + 1:]
    file = f'lib{name}.so'
    for d in filter(None, dirs):
        if os.path.exists(os.path.join(d, file)):
            print(soname(os.path.realpath(os.path.join(d, file))))
            return 0
    found = subprocess.run(cc + [f'-print-file-name={file}'], capture_output=True,
                           text=True, check=True).stdout.strip()
    if not os.path.isabs(found):
        print(f'{file} not found', file=sys.stderr)
        return 1
    print(soname(os.path.realpath(found)))
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
