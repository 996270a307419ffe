//! Hash maps and sets for the pipeline's hot paths. The keys are our own data (names, ids,
//! blocking keys), never attacker-chosen in a way that matters for a local batch run, so a
//! fast fixed-seed hash replaces the standard library's DoS-resistant SipHash. The fixed seed
//! also keeps any iteration order the same from run to run.

pub type HashMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::FixedState>;
pub type HashSet<K> = std::collections::HashSet<K, foldhash::fast::FixedState>;
