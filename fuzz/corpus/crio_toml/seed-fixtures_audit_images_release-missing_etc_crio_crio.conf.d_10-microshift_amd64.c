[crio.image]
pause_image = "quay.io/openshift-release-dev/ocp-v4.0-art-dev@sha256:74d3b8f54f86640598ab72fd9cea2c8366f86913e49db3da92d9179d76b3af44"
