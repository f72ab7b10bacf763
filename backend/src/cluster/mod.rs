//! Live cluster state of environments: health verdicts on Kubernetes objects
//! (shared/kubernetes.md), read from reflector stores (issue 4).

pub mod health;
