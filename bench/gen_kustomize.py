#!/usr/bin/env python3
"""Generate a kustomize tree: 100 bases of 50 Deployments each (5,000 resources, 10 per
file), 99 overlays (images, a strategic-merge patch, a JSON 6902 patch, namePrefix) and one
root that uses every overlay and the last base: 200 kustomizations.
Usage: gen_kustomize.py DIR"""
import os, sys

root = sys.argv[1]
BASES, PER_BASE, PER_FILE = 100, 50, 10

def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)

def deployment(b, i):
    return f"""apiVersion: apps/v1
kind: Deployment
metadata:
  name: app-{b}-{i}
  labels: {{app: app-{b}-{i}, base: b{b}}}
spec:
  selector: {{matchLabels: {{app: app-{b}-{i}}}}}
  template:
    metadata: {{labels: {{app: app-{b}-{i}}}}}
    spec:
      initContainers:
      - name: init
        image: quay.io/acme/init-{b % 7}:1.0
      containers:
      - name: app
        image: quay.io/acme/app-{b}:{i % 5}.0
      - name: proxy
        image: quay.io/acme/proxy:2.{b % 3}
        imagePullPolicy: IfNotPresent
"""

for b in range(BASES):
    files = []
    for f in range(PER_BASE // PER_FILE):
        name = f"deploy-{f}.yaml"
        files.append(name)
        docs = [deployment(b, f * PER_FILE + i) for i in range(PER_FILE)]
        write(f"{root}/bases/b{b}/{name}", "---\n".join(docs))
    write(f"{root}/bases/b{b}/kustomization.yaml",
          "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n"
          + "".join(f"- {n}\n" for n in files))

for o in range(BASES - 1):
    write(f"{root}/overlays/o{o}/kustomization.yaml", f"""apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
namePrefix: o{o}-
resources:
- ../../bases/b{o}
images:
- name: quay.io/acme/app-{o}
  newTag: "{o}.1"
- name: quay.io/acme/init-{o % 7}
  digest: sha256:{o:064x}
patches:
- target:
    kind: Deployment
    labelSelector: base=b{o}
  patch: |-
    apiVersion: apps/v1
    kind: Deployment
    metadata:
      name: any
    spec:
      template:
        spec:
          containers:
          - name: proxy
            image: quay.io/acme/proxy:3.{o % 4}
- target:
    kind: Deployment
    name: app-{o}-0
  patch: |-
    - op: replace
      path: /spec/template/spec/containers/0/imagePullPolicy
      value: IfNotPresent
""")

write(f"{root}/kustomization.yaml",
      "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n"
      + "".join(f"- overlays/o{o}\n" for o in range(BASES - 1)) + f"- bases/b{BASES - 1}\n")
