#!/usr/bin/env python3
"""Generate, deterministically, a source tree of N Kubernetes manifest files for benchmarks.

Usage: gen_manifests.py DIR N
Each file holds a Deployment (2 containers, 1 init container) and a Service; every tenth
directory has a kustomization and every hundredth file is a CronJob.
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


def main():
    root, count = sys.argv[1], int(sys.argv[2])
    for i in range(count):
        d = os.path.join(root, f"dir{i // 100:03d}")
        os.makedirs(d, exist_ok=True)
        text = cronjob(i) if i % 100 == 99 else deployment(i)
        with open(os.path.join(d, f"app-{i:05d}.yaml"), "w") as f:
            f.write(text)
        if i % 100 == 0:
            with open(os.path.join(d, "kustomization.yaml"), "w") as f:
                f.write("apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: []\n")


if __name__ == "__main__":
    main()
