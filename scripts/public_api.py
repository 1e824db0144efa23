#!/usr/bin/env python3
"""Lists a crate's public API from rustdoc's JSON (scripts/public-api): one sorted line an item."""
import json
import sys

doc = json.load(open(sys.argv[1]))
index = doc["index"]


def ty(t):
    """A type as text, ids dropped."""
    if t is None:
        return "()"
    if not isinstance(t, dict):
        return str(t)
    (kind, v), = t.items()
    if kind == "resolved_path":
        args = v.get("args")
        return v["path"] + (generic_args(args) if args else "")
    if kind == "primitive" or kind == "generic":
        return v
    if kind == "borrowed_ref":
        return "&" + ("mut " if v["is_mutable"] else "") + ty(v["type"])
    if kind == "slice":
        return "[" + ty(v) + "]"
    if kind == "array":
        return "[" + ty(v["type"]) + "; " + v["len"] + "]"
    if kind == "tuple":
        return "(" + ", ".join(ty(x) for x in v) + ")"
    if kind == "raw_pointer":
        return "*" + ("mut " if v["is_mutable"] else "const ") + ty(v["type"])
    if kind in ("impl_trait", "dyn_trait"):
        bounds = v if kind == "impl_trait" else v.get("traits", [])
        names = []
        for b in bounds:
            tb = b.get("trait_bound", b) if isinstance(b, dict) else b
            p = tb.get("trait", tb.get("path")) if isinstance(tb, dict) else None
            if isinstance(p, dict):
                names.append(p.get("path", "?") + (generic_args(p["args"]) if p.get("args") else ""))
        return ("impl " if kind == "impl_trait" else "dyn ") + " + ".join(names)
    if kind == "qualified_path":
        return "<" + ty(v["self_type"]) + ">::" + v["name"]
    if kind == "function_pointer":
        return "fn(" + ", ".join(ty(i[1]) for i in v["sig"]["inputs"]) + ") -> " + ty(v["sig"]["output"])
    return kind


def generic_args(a):
    if "angle_bracketed" in a:
        parts = []
        for x in a["angle_bracketed"]["args"]:
            if "type" in x:
                parts.append(ty(x["type"]))
            elif "lifetime" in x:
                parts.append(x["lifetime"])
            elif "const" in x:
                parts.append(str(x["const"].get("expr", "")))
        for c in a["angle_bracketed"].get("constraints", []):
            parts.append(c["name"])
        return "<" + ", ".join(parts) + ">" if parts else ""
    if "parenthesized" in a:
        p = a["parenthesized"]
        return "(" + ", ".join(ty(x) for x in p["inputs"]) + ") -> " + ty(p.get("output"))
    return ""


def sig(item):
    f = item["inner"]["function"]
    ins = ", ".join(f"{n}: {ty(t)}" for n, t in f["sig"]["inputs"])
    head = "async fn" if f["header"]["is_async"] else "fn"
    gen = ", ".join(g["name"] for g in f["generics"]["params"] if "type" in g["kind"])
    gen = f"<{gen}>" if gen else ""
    return f"{head} {item['name']}{gen}({ins}) -> {ty(f['sig']['output'])}"


lines = set()


def walk(module_id, prefix, seen):
    if module_id in seen:
        return
    seen.add(module_id)
    m = index[str(module_id)]
    for child in m["inner"]["module"]["items"]:
        item = index.get(str(child))
        if item is None:
            continue
        describe(item, prefix, seen)


def describe(item, prefix, seen):
    if item["visibility"] != "public" and "use" not in item["inner"]:
        return
    (kind, inner), = item["inner"].items()
    name = item.get("name")
    path = f"{prefix}::{name}" if name else prefix
    if kind == "use":
        target = index.get(str(inner.get("id"))) if inner.get("id") is not None else None
        if item["visibility"] != "public":
            return
        if inner.get("is_glob"):
            if target and "module" in target["inner"]:
                walk(target["id"], prefix, seen)
            return
        lines.add(f"{prefix}::{inner['name']} (re-export of {inner['source']})")
        if target is not None and target["crate_id"] == 0:
            describe(dict(target, name=inner["name"]), prefix, seen)
        return
    if kind == "module":
        lines.add(f"mod {path}")
        walk(item["id"], path, seen)
    elif kind == "function":
        lines.add(f"{prefix}::{sig(item)}")
    elif kind in ("struct", "enum", "union", "trait"):
        lines.add(f"{kind} {path}")
        if kind == "struct":
            fields = inner["kind"].get("plain", {}).get("fields", []) if isinstance(inner["kind"], dict) else []
            for fid in fields:
                f = index[str(fid)]
                if f["visibility"] == "public":
                    lines.add(f"{path}.{f['name']}: {ty(f['inner']['struct_field'])}")
            if isinstance(inner["kind"], dict) and "tuple" in inner["kind"]:
                for n, fid in enumerate(inner["kind"]["tuple"]):
                    if fid is not None and index[str(fid)]["visibility"] == "public":
                        lines.add(f"{path}.{n}: {ty(index[str(fid)]['inner']['struct_field'])}")
        if kind == "enum":
            for vid in inner["variants"]:
                lines.add(f"{path}::{index[str(vid)]['name']}")
        if kind == "trait":
            for mid in inner["items"]:
                m = index[str(mid)]
                if "function" in m["inner"]:
                    lines.add(f"{path}::{sig(m)}")
        for iid in inner.get("impls", []):
            impl = index[str(iid)]["inner"]["impl"]
            if impl.get("is_synthetic") or impl.get("blanket_impl") is not None:
                continue
            if impl["trait"] is not None:
                lines.add(f"impl {impl['trait']['path']} for {path}")
                continue
            for mid in impl["items"]:
                m = index[str(mid)]
                if m["visibility"] == "public" and "function" in m["inner"]:
                    lines.add(f"{path}::{sig(m)}")
                elif m["visibility"] == "public" and "assoc_const" in m["inner"]:
                    lines.add(f"const {path}::{m['name']}: {ty(m['inner']['assoc_const']['type'])}")
    elif kind == "constant":
        lines.add(f"const {path}: {ty(inner['type'])}")
    elif kind == "static":
        lines.add(f"static {path}: {ty(inner['type'])}")
    elif kind == "type_alias":
        lines.add(f"type {path} = {ty(inner['type'])}")
    elif kind == "macro":
        lines.add(f"macro {path}!")


root = index[str(doc["root"])]
walk(doc["root"], root["name"], set())
print("\n".join(sorted(lines)))
