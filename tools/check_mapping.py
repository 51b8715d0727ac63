"""Compare nsoc's mapper with akida's mappings in ../shared/refcases/*/mapping.json.

For every case, version, device and mode (default, hw_only): same verdict (maps / needs software
/ error with the same message), same number of sequences and passes, same number and types of
NPs per layer, filters and memory (input, weight, external) per NP, idents, component counts,
external memory and the program size of each hardware sequence (within 5 %).  The
``compute_min_device`` entries are compared with the mapping on nsoc's
:func:`~nsoc.hardware.mapping.compute_min_device` (its NP count too).

    python tools/check_mapping.py [-v]
"""
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
from nsoc.errors import MappingError  # noqa: E402
from nsoc.hardware.mapping import compute_min_device  # noqa: E402
from tools.refcases import REFCASES, build, case_dirs  # noqa: E402


def _np(c, with_ident):
    m = c["mem_info"] if isinstance(c, dict) else c.mem_info
    d = c if isinstance(c, dict) else c.to_dict()
    key = (d["type"], d["filters"], m.get("input_size", 0), m.get("weight_size", 0),
           m.get("external_size", 0))
    if with_ident:
        key += ((d["ident"]["col"], d["ident"]["row"], d["ident"]["id"]),)
    return key


def _generic_fnp(nps):
    """FNP2/FNP3 as 'FNP' with weight and external memory summed."""
    return [("FNP",) + t[1:3] + (t[3] + t[4],) if t[0].startswith("FNP") else t for t in nps]


def compare(ref, mapping, err, exact_idents=True, fnp_generic=False):
    """List of mismatch descriptions (empty: match) and the per-aspect verdicts."""
    aspects = {}
    if "error" in ref or err is not None:
        aspects["verdict"] = ("error" in ref) == (err is not None) and \
            (err is None or ref.get("error", "").strip() in err)
        return aspects
    ref_seqs = ref["sequences"]
    seqs = mapping.sequences
    aspects["verdict"] = [s["backend"] for s in ref_seqs] == [s.backend for s in seqs]
    aspects["seq/pass"] = aspects["verdict"] and \
        [len(s["passes"]) for s in ref_seqs] == [len(s.passes) for s in seqs] and \
        [s["name"] for s in ref_seqs] == [s.name for s in seqs]
    ok_types = ok_mem = ok_ident = True
    for rs, s in zip(ref_seqs, seqs, strict=False):
        for rp, p in zip(rs["passes"], s.passes, strict=False):
            if [lm["layer"] for lm in rp] != [lm.layer for lm in p]:
                ok_types = ok_mem = ok_ident = False
                continue
            for rlm, lm in zip(rp, p, strict=False):
                a = [_np(c, False) for c in rlm["nps"]]
                b = [_np(c, False) for c in lm.nps]
                if fnp_generic:
                    a, b = _generic_fnp(a), _generic_fnp(b)
                if sorted(x[0] for x in a) != sorted(x[0] for x in b):
                    ok_types = False
                if a != b:
                    ok_mem = False
                if exact_idents and [_np(c, True)[-1] for c in rlm["nps"]] != \
                        [_np(c, True)[-1] for c in lm.nps]:
                    ok_ident = False
    aspects["NPs/types"] = ok_types and aspects["seq/pass"]
    aspects["filters+mem"] = ok_mem and aspects["NPs/types"]
    if exact_idents:
        aspects["idents"] = ok_ident and aspects["NPs/types"]
        if not fnp_generic:
            aspects["comp_count"] = ref["component_count"] == mapping.component_count
    return aspects


def main(verbose=False):
    rows = []
    totals = {}
    for case in case_dirs():
        doc = json.load(open(os.path.join(REFCASES, case, "mapping.json")))
        for version, vdoc in doc.items():
            for dev_name, ddoc in vdoc["devices"].items():
                for mode in ("default", "hw_only"):
                    ref = ddoc[mode]
                    model = build(case, version)
                    minimal = dev_name == "compute_min_device"
                    err = mapping = None
                    try:
                        device = compute_min_device(model) if minimal else dev_name
                        mapping = model.map(device, hw_only=mode == "hw_only")
                    except MappingError as exc:
                        err = str(exc)
                    aspects = compare(ref, mapping, err)
                    if minimal and mapping is not None:
                        aspects["min_device"] = len(mapping.device.mesh.nps) == \
                            ddoc["device"]["n_nps"]
                    if "sequences" in ref and mapping is not None:
                        aspects["ext_mem"] = ref["external_memory_size"] == \
                            mapping.external_memory_size
                        aspects["program"] = all(
                            abs(s.program_size - r["program_size"]) <= 0.05 * r["program_size"]
                            for r, s in zip(ref["sequences"], mapping.sequences, strict=False)
                            if r["backend"] == "Hardware")
                    for k, v in aspects.items():
                        t = totals.setdefault(k, [0, 0])
                        t[0] += bool(v)
                        t[1] += 1
                    rows.append((case, version, dev_name, mode, aspects))
    keys = ["verdict", "seq/pass", "NPs/types", "filters+mem", "idents", "comp_count",
            "ext_mem", "program", "min_device"]
    print(f"{'case':<32}{'ver':<4}{'device':<20}{'mode':<8}" + "".join(f"{k:>12}" for k in keys))
    for case, version, dev, mode, a in rows:
        if not verbose and mode == "hw_only":
            continue
        print(f"{case:<32}{version:<4}{dev:<20}{mode:<8}" + "".join(
            f"{('ok' if a[k] else 'DIFF') if k in a else '-':>12}" for k in keys))
    print("\nTotals over every case, device and mode (default + hw_only):")
    for k in keys:
        if k in totals:
            print(f"  {k:<12} {totals[k][0]}/{totals[k][1]}")
    return all(t[0] == t[1] for t in totals.values())


if __name__ == "__main__":
    sys.exit(0 if main("-v" in sys.argv) else 1)
