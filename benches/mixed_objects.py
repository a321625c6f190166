"""The object mix the cluster and evidence benchmarks share: N Pods,
ConfigMaps, Services and Deployments in 20 namespaces (every third image
`:latest`, every other container without resources, every fifth privileged).

    python3 benches/mixed_objects.py N yaml          YAML documents on stdout
    python3 benches/mixed_objects.py N lists DIR     DIR/namespaces.json and
                                                     DIR/objects-NNNN.json, v1
                                                     Lists of 500 for kubectl
"""
import json
import sys

NAMESPACES = 20
KINDS = ["Pod", "ConfigMap", "Service", "Deployment"]


def pod_spec(i):
    c = {"name": "app", "image": "nginx:latest" if i % 3 == 0 else "nginx:1.25"}
    if i % 2 == 0:
        c["resources"] = {"requests": {"cpu": "10m", "memory": "16Mi"}, "limits": {"memory": "64Mi"}}
    if i % 5 == 0:
        c["securityContext"] = {"privileged": True}
    return {"containers": [c]}


def objects(n):
    for i in range(n):
        kind = KINDS[i % len(KINDS)]
        meta = {"name": f"obj-{i:06}", "namespace": f"bench-{i % NAMESPACES:02}", "labels": {"app": f"a{i % 50}"}}
        if kind == "Pod":
            yield {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": pod_spec(i)}
        elif kind == "ConfigMap":
            yield {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta, "data": {"k": "v" * 64}}
        elif kind == "Service":
            yield {"apiVersion": "v1", "kind": "Service", "metadata": meta,
                   "spec": {"clusterIP": "None", "ports": [{"port": 80}], "selector": {"app": "x"}}}
        else:
            yield {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": meta, "spec": {
                "selector": {"matchLabels": {"app": meta["name"]}},
                "template": {"metadata": {"labels": {"app": meta["name"]}}, "spec": pod_spec(i)}}}


def write_lists(n, out):
    def dump(path, items):
        with open(path, "w") as f:
            json.dump({"apiVersion": "v1", "kind": "List", "items": items}, f)

    dump(f"{out}/namespaces.json", [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": f"bench-{k:02}", "labels": {"team": f"t{k}"}}}
        for k in range(NAMESPACES)])
    batch, batches = [], 0
    for obj in objects(n):
        batch.append(obj)
        if len(batch) == 500:
            dump(f"{out}/objects-{batches:04}.json", batch)
            batch, batches = [], batches + 1
    if batch:
        dump(f"{out}/objects-{batches:04}.json", batch)


if __name__ == "__main__":
    count, mode = int(sys.argv[1]), sys.argv[2]
    if mode == "yaml":
        for obj in objects(count):
            print("---\n" + json.dumps(obj))
    elif mode == "lists":
        write_lists(count, sys.argv[3])
    else:
        sys.exit(f"unknown mode {mode}: yaml or lists")
