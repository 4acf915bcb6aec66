{
  "release": {"base": "4.19.0"},
  "images": {
    "pod": "quay.io/openshift-release-dev/ocp-v4.0-art-dev@sha256:74d3b8f54f86640598ab72fd9cea2c8366f86913e49db3da92d9179d76b3af44",
    "coredns": "quay.io/openshift-release-dev/ocp-v4.0-art-dev@sha256:a8e9ce2447194c4dd72d5395177f16356481ff88674de97ccb731eddf62640cb"
  }
}
