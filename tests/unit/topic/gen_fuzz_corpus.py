#!/usr/bin/env python3
"""Write the seed corpus of fuzz/topic_index.c (fuzz/corpus/topic_index/seed-NN).

Each seed is a short scripted session in the target's input encoding: two header bytes
(shared-subscription strategy, seed) then operations. Run from the repository root:
    python3 tests/unit/topic/gen_fuzz_corpus.py
SPDX-License-Identifier: MIT
"""
import os
import random

OUT = "fuzz/corpus/topic_index"
WORDS = ["a", "b", "", "$s", "long-level", "c"]  # the target's alphabet, by index


def name(levels, wild=True):
    """levels: list of word indexes, or '+' / '#'."""
    out = [len(levels) - 1]
    for lv in levels:
        if lv == "+":
            out.append(0x80)
        elif lv == "#":
            out.append(0xC0)
        else:
            out.append(lv)
    return bytes(out)


def op(kind, who=0, extra=0):
    return bytes([(kind & 7) | ((who & 3) << 4) | extra])


def subscribe(who, levels, shared=False, group=0, qos=1, no_local=False, sid=0, fail=False):
    b = (1 if shared else 0) | (group << 1) | (qos << 2) | ((1 if no_local else 0) << 4) | (sid << 5)
    return op(0, who, 8 if fail else 0) + bytes([b]) + name(levels)


def unsubscribe(who, levels, shared=False, group=0):
    b = (1 if shared else 0) | (group << 1)
    return op(2, who) + bytes([b]) + name(levels)


def unsubscribe_all(who):
    return op(3, who)


def match(levels, publisher=None, aggregate=False, small=False):
    extra = (0x20 if aggregate else 0) | (0x10 if small else 0)
    extra |= ((publisher + 1) << 6) if publisher is not None else 0
    return bytes([4 | extra]) + name(levels, wild=False)


def retain(levels, plen=1, fail=False):
    return bytes([6 | (0x80 if fail else 0)]) + name(levels, wild=False) + bytes([plen])


def retained(levels):
    return bytes([7]) + name(levels)


def seeds():
    S = []
    for strategy in range(5):
        S.append(bytes([strategy, 7]) +
                 subscribe(0, [0, "+"], shared=True) + subscribe(1, [0, "+"], shared=True) +
                 subscribe(2, [0, "#"], shared=True, group=1) +
                 match([0, 1]) + match([0, 1]) + match([0, 5], aggregate=True) +
                 unsubscribe(0, [0, "+"], shared=True) + match([0, 1]))
    S.append(bytes([0, 1]) + subscribe(0, [0, 1]) + subscribe(0, [0, 1], qos=2, sid=3) +
             match([0, 1], aggregate=True))
    S.append(bytes([0, 1]) + subscribe(0, ["#"]) + subscribe(1, ["+", 1]) +
             subscribe(2, [3, "#"]) + match([3, 1]) + match([0, 1]) + match([2, 1]))
    S.append(bytes([0, 2]) + subscribe(0, [0, "+"], no_local=True) + subscribe(1, [0, "+"]) +
             match([0, 1], publisher=0) + match([0, 1], publisher=1, aggregate=True))
    S.append(bytes([0, 3]) + subscribe(0, [0, 1, "#"], sid=1) + subscribe(0, [0, "+", 5], sid=2) +
             subscribe(0, [0, 1, 5], sid=3, qos=0) + match([0, 1, 5], aggregate=True) +
             match([0, 1, 5], aggregate=True, small=True))
    S.append(bytes([1, 4]) + b"".join(subscribe(w, [0, 1]) for w in range(4)) +
             unsubscribe_all(1) + match([0, 1]) + unsubscribe_all(1) + unsubscribe_all(3))
    S.append(bytes([0, 5]) + subscribe(0, [2]) + subscribe(0, [2, 2]) + match([2, 2]) +
             subscribe(1, ["+", "+"]) + match([2, 2]) + unsubscribe(0, [2]))
    S.append(bytes([0, 6]) + retain([0, 1]) + retain([0, 5]) + retain([3, 0]) +
             retained(["#"]) + retained([0, "+"]) + retained([3, "#"]) + retain([0, 1], plen=0) +
             retained([0, "#"]))
    S.append(bytes([0, 7]) + retain([0]) + retain([0, 1]) + retain([0, 1, 5]) +
             retained([0, "#"]) + retain([0, 1], plen=0) + retained([0, "#"]) +
             retained(["+", "+", "+"]))
    S.append(bytes([0, 8]) + retain([4, 4, 4], fail=True) + retain([4, 4, 4]) +
             retained([4, "+", 4]) + retain([4, 4, 4], plen=2) + retained([4, 4, 4]))
    S.append(bytes([0, 9]) + subscribe(0, [0, 1], fail=True) + subscribe(0, [0, 1]) +
             subscribe(1, [0, 1], fail=True) + subscribe(1, [0, "+"], fail=True) +
             subscribe(2, [0, "+"], shared=True, fail=True) + match([0, 1]))
    S.append(bytes([0, 10]) + subscribe(0, [4, 4, 4, 4]) + subscribe(1, [4, "+", 4, "#"]) +
             match([4, 4, 4, 4]) + match([4, 0, 4, 1]) + unsubscribe(1, [4, "+", 4, "#"]) +
             match([4, 0, 4, 1]))
    # many subscribers on one filter, then churn (inline -> list -> inline)
    body = b""
    for w in range(4):
        body += subscribe(w, [5, "+"])
    for w in (2, 0, 3):
        body += unsubscribe(w, [5, "+"]) + match([5, 0])
    S.append(bytes([0, 11]) + body)
    # random mixes with a fixed generator, so the corpus is reproducible
    rng = random.Random(20261122)
    for n in range(22):
        body = bytes([rng.randrange(5), rng.randrange(256)])
        for _ in range(rng.randrange(8, 30)):
            k = rng.randrange(7)
            lv = [rng.choice([0, 1, 2, 5, "+"]) for _ in range(rng.randrange(1, 4))]
            if rng.random() < 0.2:
                lv.append("#")
            plain = [x if x not in ("+", "#") else 0 for x in lv]
            who = rng.randrange(4)
            if k == 0:
                body += subscribe(who, lv, shared=rng.random() < 0.3, group=rng.randrange(2),
                                  qos=rng.randrange(3), sid=rng.randrange(8),
                                  fail=rng.random() < 0.1)
            elif k == 1:
                body += unsubscribe(who, lv)
            elif k == 2 and rng.random() < 0.3:
                body += unsubscribe_all(who)
            elif k in (2, 3):
                body += match(plain, publisher=rng.choice([None, 0, 1, 2]),
                              aggregate=rng.random() < 0.5, small=rng.random() < 0.2)
            elif k == 4:
                body += retain(plain, plen=rng.randrange(4), fail=rng.random() < 0.1)
            else:
                body += retained(lv)
        S.append(body)
    return S


def main():
    os.makedirs(OUT, exist_ok=True)
    for i, s in enumerate(seeds()):
        with open(os.path.join(OUT, "seed-%02d" % i), "wb") as f:
            f.write(s)
    print("wrote %d seeds to %s" % (len(seeds()), OUT))


if __name__ == "__main__":
    main()
