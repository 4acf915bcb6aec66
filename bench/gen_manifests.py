#!/usr/bin/env python3
"""Generate, deterministically, a source tree of N Kubernetes manifest files for benchmarks.

Usage: gen_manifests.py DIR N [--overlays]
Each file holds a Deployment (2 containers, 1 init container) and a Service; every hundredth
file is a CronJob. Files come 100 to a directory (dirNNN), each with a kustomization.
Without --overlays that kustomization lists no resources (every file is read as a plain
manifest). With --overlays it lists its 100 files (a base), overlays/dirNNN uses the base with
an `images` override, a namePrefix and a JSON 6902 patch, and DIR/kustomization.yaml uses every
overlay, so `kubectl kustomize DIR` builds the whole repository.
"""
import os
import sys


def deployment(i):
    return f"""apiVersion: apps/v1
kind: Deployment
metadata:
  name: app-{i}
  namespace: team-{i % 17}
  labels: {{app: app-{i}}}
spec:
  replicas: 2
  selector:
    matchLabels: {{app: app-{i}}}
  template:
    metadata:
      labels: {{app: app-{i}}}
    spec:
      initContainers:
        - name: init
          image: "quay.io/acme/init-{i % 50}:1.{i % 7}.0"
      containers:
        - name: main
          image: quay.io/acme/app-{i}:2.{i % 13}.1@sha256:{i:064x}
          imagePullPolicy: IfNotPresent
          env:
            - name: MODE
              value: production
          resources:
            limits: {{cpu: 500m, memory: 256Mi}}
        - name: sidecar
          image: registry.example.com:5000/tools/sidecar:{"latest" if i % 11 == 0 else "3.1"}
---
apiVersion: v1
kind: Service
metadata:
  name: app-{i}
spec:
  selector: {{app: app-{i}}}
  ports:
    - port: 8080
      targetPort: 8080
"""


def cronjob(i):
    return f"""apiVersion: batch/v1
kind: CronJob
metadata:
  name: job-{i}
spec:
  schedule: "*/5 * * * *"
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: OnFailure
          containers:
            - name: job
              image: docker.io/library/busybox:1.36
"""


KUST = "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n"


def overlay(d, first):
    return KUST + f"""namePrefix: o{d}-
resources:
  - ../../dir{d:03d}
images:
  - name: quay.io/acme/init-{d % 50}
    newTag: "9.{d}"
  - name: registry.example.com:5000/tools/sidecar
    digest: sha256:{d:064x}
patches:
  - target:
      kind: Deployment
      name: app-{first}
    patch: |-
      - op: replace
        path: /spec/template/spec/containers/0/imagePullPolicy
        value: Always
"""


def main():
    root, count = sys.argv[1], int(sys.argv[2])
    overlays = "--overlays" in sys.argv[3:]
    dirs = (count + 99) // 100
    for d in range(dirs):
        base = os.path.join(root, f"dir{d:03d}")
        os.makedirs(base, exist_ok=True)
        names = []
        for i in range(d * 100, min(count, (d + 1) * 100)):
            name = f"app-{i:05d}.yaml"
            names.append(name)
            with open(os.path.join(base, name), "w") as f:
                f.write(cronjob(i) if i % 100 == 99 else deployment(i))
        with open(os.path.join(base, "kustomization.yaml"), "w") as f:
            if overlays:
                f.write(KUST + "resources:\n" + "".join(f"  - {n}\n" for n in names))
            else:
                f.write(KUST + "resources: []\n")
        if overlays:
            o = os.path.join(root, "overlays", f"dir{d:03d}")
            os.makedirs(o, exist_ok=True)
            with open(os.path.join(o, "kustomization.yaml"), "w") as f:
                f.write(overlay(d, d * 100))
    if overlays:
        with open(os.path.join(root, "kustomization.yaml"), "w") as f:
            f.write(KUST + "resources:\n" + "".join(f"  - overlays/dir{d:03d}\n" for d in range(dirs)))


if __name__ == "__main__":
    main()
