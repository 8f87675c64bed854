#!/usr/bin/env python3
"""Checks that the library's files call each other one way only.

Reads host/*.c, finds the functions each file defines at file scope and the calls each file
makes to functions defined in another file, and fails when two files reach each other through
any chain of calls (a cycle in the file graph). With --dot it prints the graph instead; with
--why it names the functions behind each arrow.
Run by CTest as `host_layers`; docs/design.md draws the same graph."""
import re
import sys
from pathlib import Path

root = Path(__file__).resolve().parent.parent
files = sorted((root / "host").glob("*.c"))

# A definition: an identifier followed by '(' at the start of a line's declarator, in a line
# that starts at column 0 and whose statement continues with '{' rather than ';'.
def strip(text):
    text = re.sub(r"/\*.*?\*/", lambda m: "\n" * m.group(0).count("\n"), text, flags=re.S)
    text = re.sub(r"//[^\n]*", "", text)
    text = re.sub(r'"(\\.|[^"\\])*"', '""', text)
    return text

defs = {}
texts = {}
for f in files:
    t = strip(f.read_text())
    texts[f.name] = t
    for m in re.finditer(r"^[A-Za-z_][^;{}()#]*?\b([A-Za-z_]\w*)\s*\(([^;{}]*?)\)\s*\{", t, flags=re.M):
        name = m.group(1)
        if name in ("if", "for", "while", "switch", "return", "sizeof"):
            continue
        defs.setdefault(name, set()).add(f.name)

edges = {f.name: set() for f in files}
why = {}
for f in files:
    for name, owners in defs.items():
        if f.name in owners:
            continue
        if re.search(r"\b" + re.escape(name) + r"\s*\(", texts[f.name]) or \
           re.search(r"[=,(&]\s*" + re.escape(name) + r"\b(?!\s*\()", texts[f.name]):
            for o in owners:
                edges[f.name].add(o)
                why.setdefault((f.name, o), []).append(name)

if "--dot" in sys.argv:
    print("digraph host {")
    for a in sorted(edges):
        for b in sorted(edges[a]):
            print(f'  "{a}" -> "{b}";')
    print("}")
    sys.exit(0)

# Tarjan's strongly connected components: any component of two or more files is a circle.
index, low, on, stack, comps = {}, {}, set(), [], []
counter = [0]
def visit(v):
    index[v] = low[v] = counter[0]; counter[0] += 1
    stack.append(v); on.add(v)
    for w in edges[v]:
        if w not in index:
            visit(w); low[v] = min(low[v], low[w])
        elif w in on:
            low[v] = min(low[v], index[w])
    if low[v] == index[v]:
        comp = []
        while True:
            w = stack.pop(); on.discard(w); comp.append(w)
            if w == v:
                break
        comps.append(comp)
for v in edges:
    if v not in index:
        visit(v)

circles = [sorted(c) for c in comps if len(c) > 1]
for a in sorted(edges):
    print(f"{a} -> {', '.join(sorted(edges[a])) or '(nothing)'}")
    if "--why" in sys.argv:
        for b in sorted(edges[a]):
            print(f"    {b}: {', '.join(sorted(why[(a, b)]))}")
if circles:
    for c in circles:
        calls = [f"{a} -> {b}" for a in c for b in sorted(edges[a]) if b in c]
        print("host_layers: these files call each other in a circle: " + ", ".join(c) +
              " (" + "; ".join(calls) + ")", file=sys.stderr)
    sys.exit(1)
print(f"host_layers: {len(files)} files, no circle")
