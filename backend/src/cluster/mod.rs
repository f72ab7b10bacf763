//! Live cluster state of environments: one reflector per (namespace, kind) with a label-existence
//! selector, split per environment in memory by the environment's slug; never a watch per
//! environment, never an API call per browser request (shared/kubernetes.md).

pub mod health;
mod reflectors;
mod view;

pub use reflectors::ClusterState;
