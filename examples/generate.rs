//! Generates business-customer sources of any size, with ground truth, for benchmarks and
//! scale tests. Deterministic for a given seed.
//!
//! ```sh
//! cargo run --release --example generate -- --records 100000 --seed 7 --out /tmp/gen
//! ```
//!
//! Writes `a.csv` (the "production" export), `b.csv` (a second list: most entities of `a`
//! again, with typos, "The"/"&"/legal-suffix variants, other phone formats and missing
//! fields, plus new entities), `truth.csv` (the true `a_id,b_id` links) and `spec.yaml`
//! linking the two into a `businesses` table. Chains ("Ocean Basket Menlyn", "Ocean Basket
//! Brooklyn") make branches of one brand that must stay apart.
//!
//! With `--touch-every N`, also `touched/`: the same spec and `b.csv`, and `a.csv` with one
//! record in every N in another city (Durban, or Pretoria for a record in Durban), the
//! scattered updates of the benchmark. Only records whose entity is not in `b` are moved:
//! the table's key is the email, and a moved record whose city no longer agrees with its
//! partner in `b` could stop linking, leaving two golden records with one email, which a plan
//! refuses. The number of records moved is written to `touched/count`.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::PathBuf;

/// SplitMix64: small, fast, and the same everywhere.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn chance(&mut self, p: f64) -> bool {
        ((self.next() >> 11) as f64 / (1u64 << 53) as f64) < p
    }
    fn pick<'a>(&mut self, xs: &[&'a str]) -> &'a str {
        xs[self.below(xs.len())]
    }
}

const SYLLABLES: &[&str] = &[
    "ka", "zu", "mbe", "lo", "ra", "ne", "ti", "sho", "va", "di", "qu", "ma", "ndo", "le", "pi",
    "so", "we", "tha", "bo", "ri", "ga", "fe", "mu", "xo", "ye", "ch", "lu", "ze", "ho", "na",
    "kri", "ste", "bra", "olo", "ami", "eni", "usa", "ito", "ova", "ela",
];
const NOUNS: &[&str] = &[
    "Kitchen",
    "Bistro",
    "Hardware",
    "Bakery",
    "Butchery",
    "Pharmacy",
    "Traders",
    "Motors",
    "Tavern",
    "Lodge",
    "Café",
    "Grill",
    "Deli",
    "Supplies",
    "Catering",
    "Restaurant",
    "Bar",
    "Coffee",
    "Spa",
    "Guesthouse",
    "Market",
    "Farm Stall",
    "Pizzeria",
    "Dairy",
    "Brewery",
];
const BRANDS: &[&str] = &[
    "Ocean Basket",
    "Spur",
    "Wimpy",
    "Mugg & Bean",
    "Debonairs",
    "Nando's",
    "Steers",
    "Col'Cacchio",
    "Primi Piatti",
    "Seattle Coffee",
    "Vida e Caffè",
    "RocoMamas",
];
const SUBURBS: &[&str] = &[
    "Menlyn",
    "Brooklyn",
    "Sandton",
    "Rosebank",
    "Hatfield",
    "Centurion",
    "Fourways",
    "Midrand",
    "Umhlanga",
    "Stellenbosch",
    "Sea Point",
    "Claremont",
    "Durbanville",
    "Ballito",
    "Mooikloof",
    "Lynnwood",
    "Garsfontein",
    "Woodlands",
    "Irene",
    "Boksburg",
];
const CITIES: &[&str] = &[
    "Pretoria",
    "Johannesburg",
    "Cape Town",
    "Durban",
    "Gqeberha",
];

struct Entity {
    name: String,
    email: String,
    phone: u64,
    city: &'static str,
}

fn title(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().collect::<String>() + c.as_str())
        .unwrap_or_default()
}

fn entity(rng: &mut Rng, i: usize) -> Entity {
    let name = if rng.chance(0.15) {
        format!("{} {}", rng.pick(BRANDS), rng.pick(SUBURBS))
    } else {
        let n = 2 + rng.below(3);
        let word: String = (0..n).map(|_| rng.pick(SYLLABLES)).collect();
        format!("{} {}", title(&word), rng.pick(NOUNS))
    };
    let slug: String = name
        .to_lowercase()
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .take(16)
        .collect();
    Entity {
        email: format!(
            "{}{}@{}.co.za",
            rng.pick(&["info", "orders", "hello", "admin"]),
            i,
            slug
        ),
        // Unique per entity: Johannesburg landline range 011 xxx xxxx, then mobiles.
        phone: 27_100_000_000 + i as u64 * 7 % 89_999_999,
        city: rng.pick(CITIES),
        name,
    }
}

fn local(phone: u64) -> String {
    let d = phone.to_string();
    format!("0{} {} {}", &d[2..4], &d[4..7], &d[7..])
}

fn international(phone: u64) -> String {
    let d = phone.to_string();
    format!("+27 {} {} {}", &d[2..4], &d[4..7], &d[7..])
}

fn typo(rng: &mut Rng, s: &str) -> String {
    let mut chars: Vec<char> = s.chars().collect();
    if chars.len() < 5 {
        return s.to_string();
    }
    let i = 1 + rng.below(chars.len() - 2);
    match rng.below(3) {
        // A space dropped after a possessive ("Nando'sFourways") makes a word the name
        // comparison cannot take apart again: such a record would not link to its entity
        // although it shares its email, the table's key. That typo is left out (the random
        // draws are the same, so every other record is as before).
        0 if chars[i] == ' ' && i >= 2 && chars[i - 1] == 's' && chars[i - 2] == '\'' => {}
        0 => {
            chars.remove(i);
        }
        1 => chars.swap(i, i + 1),
        _ => chars.insert(i, chars[i]),
    }
    chars.into_iter().collect()
}

fn variant(rng: &mut Rng, name: &str) -> String {
    let mut n = name.to_string();
    if rng.chance(0.15) {
        n = typo(rng, &n);
    }
    if rng.chance(0.1) {
        n = format!("The {n}");
    }
    if rng.chance(0.3) && n.contains('&') {
        n = n.replace('&', "and");
    }
    if rng.chance(0.1) {
        n.push_str(" (Pty) Ltd");
    }
    if rng.chance(0.1) {
        n = n.to_uppercase();
    }
    n
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

fn main() -> std::io::Result<()> {
    let mut records = 10_000usize;
    let mut seed = 7u64;
    let mut out = PathBuf::from("target/generated");
    let mut overlap = 0.7f64;
    let mut touch_every = 0usize;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut value = || args.next().expect("a value after the flag");
        match a.as_str() {
            "--records" => records = value().replace('_', "").parse().expect("a count"),
            "--seed" => seed = value().parse().expect("a number"),
            "--out" => out = PathBuf::from(value()),
            "--overlap" => overlap = value().parse().expect("a share"),
            "--touch-every" => touch_every = value().replace('_', "").parse().expect("a count"),
            other => panic!(
                "unknown flag {other}; use --records N --seed S --out DIR --overlap P --touch-every N"
            ),
        }
    }
    let shared = write(records, seed, overlap, &out)?;
    eprintln!(
        "wrote {records} a, {records} b, {shared} true links to {}",
        out.display()
    );
    if touch_every > 0 {
        let moved = write_touched(records, overlap, touch_every, &out)?;
        eprintln!(
            "wrote {}: {moved} records of a in another city",
            out.join("touched").display()
        );
    }
    Ok(())
}

/// Whether each record of `a` has its entity in `b` too, as [`write`] picks them.
fn shared_in_b(records: usize, overlap: f64) -> Vec<bool> {
    let shared = (records as f64 * overlap) as usize;
    let mut in_b = vec![false; records];
    for k in 0..shared {
        in_b[k * records / shared.max(1)] = true;
    }
    in_b
}

/// Writes `touched/` beside the sources [`write`] wrote (see the module documentation): in
/// each run of `every` records of `a`, the first whose entity is not in `b` moves to another
/// city. Returns the number of records moved, also written to `touched/count`.
pub fn write_touched(
    records: usize,
    overlap: f64,
    every: usize,
    out: &std::path::Path,
) -> std::io::Result<usize> {
    let in_b = shared_in_b(records, overlap);
    let mut touch = vec![false; records];
    for start in (0..records).step_by(every.max(1)) {
        let end = (start + every.max(1)).min(records);
        if let Some(i) = (start..end).find(|&i| !in_b[i]) {
            touch[i] = true;
        }
    }
    let dir = out.join("touched");
    std::fs::create_dir_all(&dir)?;
    let a = std::fs::read_to_string(out.join("a.csv"))?;
    let mut moved = 0;
    let mut text = String::with_capacity(a.len());
    for (n, line) in a.lines().enumerate() {
        // Line 0 is the header; the city is the last field and never quoted.
        match n.checked_sub(1).filter(|&i| touch[i]) {
            Some(_) => {
                let (rest, city) = line.rsplit_once(',').expect("a row with a city");
                let other = if city == "Durban" {
                    "Pretoria"
                } else {
                    "Durban"
                };
                let _ = writeln!(text, "{rest},{other}");
                moved += 1;
            }
            None => {
                text.push_str(line);
                text.push('\n');
            }
        }
    }
    std::fs::write(dir.join("a.csv"), text)?;
    std::fs::copy(out.join("b.csv"), dir.join("b.csv"))?;
    std::fs::write(dir.join("spec.yaml"), SPEC)?;
    std::fs::write(dir.join("count"), format!("{moved}\n"))?;
    Ok(moved)
}

/// Writes `a.csv`, `b.csv`, `truth.csv` and `spec.yaml` into `out`; returns the number of
/// true links. Also used by the scale tests.
pub fn write(
    records: usize,
    seed: u64,
    overlap: f64,
    out: &std::path::Path,
) -> std::io::Result<usize> {
    std::fs::create_dir_all(out)?;
    let mut rng = Rng(seed);
    let entities: Vec<Entity> = (0..records * 2).map(|i| entity(&mut rng, i)).collect();

    let mut a = String::with_capacity(records * 80);
    a.push_str("id,name,email,phone,city\n");
    for (i, e) in entities.iter().take(records).enumerate() {
        let phone = if rng.chance(0.5) {
            local(e.phone)
        } else {
            international(e.phone)
        };
        let _ = writeln!(
            a,
            "A{i},{},{},{},{}",
            csv_field(&e.name),
            e.email,
            phone,
            e.city
        );
    }

    // b: `overlap` of a's entities again (noisy), the rest new, in shuffled order.
    let shared = (records as f64 * overlap) as usize;
    // The same picks as `shared_in_b`.
    let mut picks: Vec<usize> = (0..shared).map(|k| k * records / shared.max(1)).collect();
    picks.extend(records..records + (records - shared));
    for i in (1..picks.len()).rev() {
        let j = rng.below(i + 1);
        picks.swap(i, j);
    }
    let mut b = String::with_capacity(records * 80);
    let mut truth = String::with_capacity(shared * 16);
    b.push_str("id,name,email,phone,city\n");
    truth.push_str("a_id,b_id\n");
    for (j, &k) in picks.iter().enumerate() {
        let e = &entities[k];
        let name = variant(&mut rng, &e.name);
        let email = if rng.chance(0.3) {
            String::new()
        } else {
            e.email.clone()
        };
        let phone = match rng.below(5) {
            0 => String::new(),
            1 | 2 => local(e.phone),
            _ => international(e.phone),
        };
        let _ = writeln!(b, "B{j},{},{email},{phone},{}", csv_field(&name), e.city);
        if k < records {
            let _ = writeln!(truth, "A{k},B{j}");
        }
    }
    std::fs::File::create(out.join("a.csv"))?.write_all(a.as_bytes())?;
    std::fs::File::create(out.join("b.csv"))?.write_all(b.as_bytes())?;
    std::fs::File::create(out.join("truth.csv"))?.write_all(truth.as_bytes())?;
    std::fs::write(out.join("spec.yaml"), SPEC)?;
    Ok(shared)
}

const SPEC: &str = r#"# Generated: links a.csv and b.csv into one table of businesses.
version: 1
resource: businesses
target:
  table: businesses
  key: email
  fields:
    name:  { type: text, required: true }
    email: { type: email }
    phone: { type: phone, region: ZA }
    city:  { type: text }
sources:
  a: { file: a.csv, id: id, fields: { name: name, email: email, phone: phone, city: city } }
  b: { file: b.csv, id: id, fields: { name: name, email: email, phone: phone, city: city } }
priority: [a, b]
# Weights are estimated from the data, and agreeing on a rare email, phone or city counts
# more than agreeing on a common one, so evidence keeps pace with the size of the lists.
# Pairs link at a match probability of 0.5, the cut-off the Splink side of the benchmark uses.
match:
  weights: auto
  threshold: 0.5
  review: 0.3
  compare:
    name:  { method: name }
    email: { method: exact, term_frequency: true }
    phone: { method: exact, term_frequency: true }
    city:  { method: exact, term_frequency: true }
"#;
