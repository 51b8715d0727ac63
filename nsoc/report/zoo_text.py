"""Text of ``nsoc zoo list`` and ``nsoc zoo build``: the zoo table and a built model's line."""
from __future__ import annotations


def _value(v) -> str:
    return f"{v:g}" if isinstance(v, float) else str(v)


def format_zoo_table(entries, common_params) -> str:
    """One block per entry (name, targets, summary, parameters with defaults, source), then
    the parameters every entry takes.  ``entries`` are :class:`nsoc.zoo.ZooEntry`."""
    rows = [(e, " ".join(f"--{p.name} {_value(p.default)}" for p in e.params)) for e in entries]
    name_w = max([len("entry")] + [len(e.name) for e, _ in rows]) + 2
    target_w = max([len("targets")] + [len(",".join(e.targets)) for e, _ in rows]) + 2
    param_w = max([len("parameters (defaults)")] + [len(p) for _, p in rows]) + 2
    lines = [(f"{'entry':<{name_w}}{'targets':<{target_w}}{'parameters (defaults)':<{param_w}}"
             f"description"),
             (f"{'-' * (name_w - 2):<{name_w}}{'-' * (target_w - 2):<{target_w}}"
             f"{'-' * (param_w - 2):<{param_w}}{'-' * 11}")]
    for e, params in rows:
        lines.append(f"{e.name:<{name_w}}{','.join(e.targets):<{target_w}}{params:<{param_w}}"
                     f"{e.summary}")
        lines.append(f"{'':<{name_w + target_w + param_w}}source: {e.source}")
    lines.append("")
    lines.append("every entry also takes: " + " ".join(
        f"--{p.name.replace('_', '-')} {_value(p.default)}" for p in common_params))
    for p in common_params:
        allowed = f" ({'/'.join(_value(c) for c in p.choices)})" if p.choices else ""
        lines.append(f"  --{p.name.replace('_', '-'):<20}{p.help}{allowed}")
    return "\n".join(lines)


def format_zoo_params(entry, common_params) -> str:
    """The parameters of one entry with their defaults and help (``nsoc zoo list NAME``)."""
    lines = [f"{entry.name}: {entry.summary}", f"  source: {entry.source}",
             f"  targets: {', '.join(entry.targets)}"]
    for target, device in entry.devices.items():
        lines.append(f"  maps on (defaults, {target}): {device}")
    for target, why in entry.unmappable.items():
        lines.append(f"  cannot map ({target}): {why}")
    for p in tuple(entry.params) + tuple(common_params):
        allowed = f" ({'/'.join(_value(c) for c in p.choices)})" if p.choices else ""
        lines.append(f"  --{p.name.replace('_', '-'):<20}{_value(p.default):<8}{p.help}{allowed}")
    return "\n".join(lines)


def format_built(path, model) -> str:
    """The line ``nsoc zoo build`` prints after writing ``model`` to ``path``."""
    def dims(d):
        return "x".join(str(v) for v in d)

    weights = sum(int(v.size) for lay in model.layers for k, v in lay.variables.items()
                  if k.startswith("weights"))
    return (f"wrote {path}: {model.metadata.get('zoo_entry', '?')} Akida {model.ip_version}, "
            f"{model.layer_count} layers, {dims(model.input_shape)} -> "
            f"{dims(model.output_shape)}, {model.macs / 1e6:,.1f} M MACs per frame, "
            f"{weights:,} weights")
