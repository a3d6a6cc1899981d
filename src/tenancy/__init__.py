"""tenancy: a GitOps policy-as-code checker and renderer for Kubernetes multi-tenancy."""

__version__ = "0.1.0"
