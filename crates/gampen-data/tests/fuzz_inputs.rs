//! Deterministic, bounded fuzzing of the FITS reader and the catalog parser, run by
//! `cargo test` in CI (issue 13).
//!
//! Seed inputs are valid: FITS files written by the crate's own writer plus the astropy
//! fixtures, and well-formed catalogs. A SplitMix64 generator applies one to four mutations
//! to each (byte flips, header values replaced by 0, -1, huge, NaN, inf, ..., cards inserted,
//! ranges truncated, deleted or duplicated) and every input must either decode or fail with
//! a `DataError` whose message is one line naming the file: no panic, and no single
//! allocation above `64 x input + 1 MiB` (a counting global allocator watches the thread
//! that decodes). `GAMPEN_FUZZ_CASES` scales the number of inputs and `GAMPEN_FUZZ_SEED`
//! changes the stream, for longer local runs; the `fuzz/` directory at the repository root
//! has `cargo fuzz` targets for coverage-guided runs.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::time::Instant;

use gampen_data::fits::{decode_fits, encode_fits, read_fits_hdu, HduSelect, HeaderCard};
use gampen_data::{Catalog, CsvTable, DataError, DatasetOptions, GalaxyDataset, Image};

/// Counts the largest single allocation made by the current thread since the last reset.
struct LargestAllocation;

thread_local! {
    static LARGEST: Cell<usize> = const { Cell::new(0) };
}

fn note(size: usize) {
    // try_with: the allocator also runs while thread-locals are torn down.
    let _ = LARGEST.try_with(|m| m.set(m.get().max(size)));
}

// SAFETY: every call is forwarded unchanged to the system allocator; only a size is noted.
unsafe impl GlobalAlloc for LargestAllocation {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note(layout.size());
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        note(layout.size());
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note(new_size);
        unsafe { System.realloc(ptr, layout, new_size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: LargestAllocation = LargestAllocation;

/// SplitMix64 (Steele, Lea & Flood 2014): tiny, seedable, good enough to pick mutations.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (`n > 0`).
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

fn cases(default: usize) -> usize {
    std::env::var("GAMPEN_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn seed() -> u64 {
    std::env::var("GAMPEN_FUZZ_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0x6A4D_5045_4E00_0013)
}

/// The largest single allocation `f` may make for an input of `len` bytes.
fn allocation_cap(len: usize) -> usize {
    64 * len + (1 << 20)
}

/// Runs `f` on this thread with panics caught and its largest allocation measured.
fn guarded<T>(f: impl FnOnce() -> T) -> (std::thread::Result<T>, usize) {
    LARGEST.with(|m| m.set(0));
    let out = catch_unwind(AssertUnwindSafe(f));
    (out, LARGEST.with(Cell::get))
}

/// Checks one outcome; returns a description of what is wrong, if anything.
fn verdict<T>(
    outcome: std::thread::Result<Result<T, DataError>>,
    largest: usize,
    len: usize,
    name: &str,
) -> Option<String> {
    if largest > allocation_cap(len) {
        return Some(format!(
            "allocated {largest} bytes at once for a {len}-byte input"
        ));
    }
    match outcome {
        Err(panic) => Some(format!(
            "panicked: {}",
            panic
                .downcast_ref::<String>()
                .map(String::as_str)
                .or_else(|| panic.downcast_ref::<&str>().copied())
                .unwrap_or("(non-text payload)")
        )),
        Ok(Ok(_)) => None,
        Ok(Err(e)) => {
            let msg = e.to_string();
            if msg.contains('\n') || msg.contains('\r') {
                Some(format!("message is not one line: {msg:?}"))
            } else if !msg.contains(name) {
                Some(format!("message does not name {name}: {msg}"))
            } else {
                None
            }
        }
    }
}

/// Numbers and tokens that header values and catalog cells are replaced with.
const SPECIAL: &[&str] = &[
    "0",
    "-1",
    "1",
    "2",
    "3",
    "8",
    "-32",
    "-64",
    "999",
    "1000",
    "65536",
    "4294967296",
    "2147483647",
    "9223372036854775807",
    "-9223372036854775808",
    "99999999999999999999999",
    "0.0",
    "-0.0",
    "1.5",
    "1E300",
    "-1E-300",
    "1E999",
    "NAN",
    "nan",
    "INF",
    "-inf",
    "Infinity",
    "T",
    "F",
    "'text'",
    "'",
    "",
];

/// Sizes around the places where 64-bit size arithmetic overflows.
const SIZES: &[&str] = &[
    "0",
    "1",
    "2",
    "-1",
    "2880",
    "2147483648",
    "4294967296",
    "4611686018427387904",
    "2305843009213693952",
    "9223372036854775806",
    "9223372036854775807",
    "-9223372036854775808",
];

/// Keywords that size, shape or scale FITS data.
const KEYWORDS: &[&str] = &[
    "SIMPLE", "XTENSION", "BITPIX", "NAXIS", "NAXIS1", "NAXIS2", "NAXIS3", "NAXIS4", "PCOUNT",
    "GCOUNT", "BSCALE", "BZERO", "BLANK", "GROUPS", "ZIMAGE", "EXTEND", "END",
];

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/fits")
}

/// Valid FITS files: the writer's (2-D, cube, extra cards) and the astropy fixtures (every
/// BITPIX, scaling, BLANK, extensions).
fn fits_seeds() -> Vec<Vec<u8>> {
    let img = |bands, h, w| {
        let n = bands * h * w;
        Image::new(
            (0..n).map(|i| (i as f32 * 0.7).sin() * 100.0).collect(),
            bands,
            h,
            w,
        )
    };
    let cards = [
        HeaderCard::real("PIXSCALE", 0.168, "arcsec/pixel"),
        HeaderCard::text("OBJECT", "sim_0001", ""),
        HeaderCard::integer("MAGZERO", 27, ""),
    ];
    let mut seeds = vec![
        encode_fits(&img(1, 4, 3), &[]).expect("writer"),
        encode_fits(&img(3, 5, 5), &cards).expect("writer"),
        encode_fits(&img(1, 30, 30), &cards[..1]).expect("writer"),
    ];
    let mut names: Vec<_> = std::fs::read_dir(fixtures())
        .expect("fixtures/fits is committed")
        .map(|e| e.expect("directory entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "fits"))
        .collect();
    names.sort();
    assert!(
        names.len() >= 10,
        "expected the FITS fixtures, found {names:?}"
    );
    seeds.extend(names.iter().map(|p| std::fs::read(p).expect("fixture")));
    seeds
}

/// Byte offsets of the header cards before the first END (at most two blocks looked at).
fn card_offsets(bytes: &[u8]) -> Vec<usize> {
    let mut out = Vec::new();
    for pos in (0..bytes.len().min(2 * 2880).saturating_sub(79)).step_by(80) {
        out.push(pos);
        if bytes[pos..].starts_with(b"END ") {
            break;
        }
    }
    out
}

fn card(keyword: &str, value: &str) -> Vec<u8> {
    format!("{:<80}", format!("{keyword:<8}= {value:>20}"))
        .into_bytes()
        .into_iter()
        .take(80)
        .collect()
}

/// Sets 1 to `max` random bytes to random values (`bytes` not empty).
fn flip_bytes(rng: &mut SplitMix64, bytes: &mut [u8], max: usize) -> String {
    let n = 1 + rng.below(max);
    for _ in 0..n {
        let i = rng.below(bytes.len());
        bytes[i] = rng.next() as u8;
    }
    format!("{n} random bytes")
}

/// Copies a random range of up to `max` bytes to a random place (`bytes` not empty).
fn duplicate_range(rng: &mut SplitMix64, bytes: &mut Vec<u8>, max: usize) -> String {
    let start = rng.below(bytes.len());
    let end = (start + 1 + rng.below(max)).min(bytes.len());
    let at = rng.below(bytes.len() + 1);
    let copy = bytes[start..end].to_vec();
    bytes.splice(at..at, copy);
    format!("duplicated {start}..{end} at {at}")
}

/// Removes a random range of up to `max` bytes (`bytes` not empty).
fn delete_range(rng: &mut SplitMix64, bytes: &mut Vec<u8>, max: usize) -> String {
    let start = rng.below(bytes.len());
    let end = (start + 1 + rng.below(max)).min(bytes.len());
    bytes.drain(start..end);
    format!("deleted {start}..{end}")
}

/// Cuts the file, near block boundaries most often: that is where readers go wrong.
fn truncate_fits(rng: &mut SplitMix64, bytes: &mut Vec<u8>) -> String {
    let len = bytes.len();
    let cut = match rng.below(3) {
        0 => rng.below(len + 1),
        _ => (rng.below(len / 2880 + 1) * 2880 + rng.below(161)).saturating_sub(80),
    }
    .min(len);
    bytes.truncate(cut);
    format!("truncated to {cut}")
}

/// Replaces the value of the card at `at` (keyword kept) or the whole card, or inserts one.
fn edit_card(rng: &mut SplitMix64, bytes: &mut Vec<u8>, at: usize) -> String {
    let value = *rng.pick(SPECIAL);
    match rng.below(3) {
        0 => {
            let keyword = String::from_utf8_lossy(&bytes[at..at + 8])
                .trim_end()
                .to_string();
            bytes[at..at + 80].copy_from_slice(&card(&keyword, value));
            format!("{keyword} = {value}")
        }
        1 => {
            let keyword = *rng.pick(KEYWORDS);
            bytes[at..at + 80].copy_from_slice(&card(keyword, value));
            format!("card at {at} := {keyword} = {value}")
        }
        _ => {
            let keyword = *rng.pick(KEYWORDS);
            bytes.splice(at..at, card(keyword, value));
            format!("inserted {keyword} = {value} at {at}")
        }
    }
}

/// Appends the file to itself as an extension (its SIMPLE card made an XTENSION card).
fn append_self(bytes: &mut Vec<u8>) -> String {
    let mut ext = bytes.clone();
    if ext.len() >= 80 {
        ext[..80].copy_from_slice(&card("XTENSION", "'IMAGE   '"));
    }
    bytes.extend_from_slice(&ext);
    "appended itself as an extension".into()
}

/// One FITS mutation; returns what it did.
fn mutate_fits(rng: &mut SplitMix64, bytes: &mut Vec<u8>) -> String {
    let cards = card_offsets(bytes);
    let empty = bytes.is_empty();
    match rng.below(11) {
        0 if !empty => flip_bytes(rng, bytes, 8),
        1 | 2 if !cards.is_empty() => {
            let at = *rng.pick(&cards);
            edit_card(rng, bytes, at)
        }
        3 => truncate_fits(rng, bytes),
        4 if !empty => duplicate_range(rng, bytes, 2 * 2880),
        5 if !empty => delete_range(rng, bytes, 2880),
        6 => append_self(bytes),
        7 if !cards.is_empty() => {
            let at = *rng.pick(&cards);
            bytes[at + 8] = *rng.pick(&[b' ', b'=', b'\'', b'/', 0, b'\n', 0x80]);
            format!("value indicator of card at {at}")
        }
        8 | 9 => attack_sizes(rng, bytes, &cards),
        _ => {
            let extra = rng.below(3 * 2880);
            let fill = *rng.pick(&[0u8, b' ', 0xFF]);
            bytes.extend(std::iter::repeat_n(fill, extra));
            format!("appended {extra} bytes of {fill:#04X}")
        }
    }
}

/// Sets some of the sizing keywords at once to values near the overflow limits (inserting
/// PCOUNT/GCOUNT before END when absent): single-value mutations rarely hit the combinations
/// (say `BITPIX = 16` with `NAXIS1 = 2^63 - 1`) where size arithmetic goes wrong.
fn attack_sizes(rng: &mut SplitMix64, bytes: &mut Vec<u8>, cards: &[usize]) -> String {
    let mut done = Vec::new();
    for keyword in ["BITPIX", "NAXIS1", "NAXIS2", "NAXIS3", "PCOUNT", "GCOUNT"] {
        if rng.below(2) == 0 {
            continue;
        }
        let value = if keyword == "BITPIX" {
            *rng.pick(&["8", "16", "32", "64", "-32", "-64"])
        } else {
            *rng.pick(SIZES)
        };
        let found = cards
            .iter()
            .find(|&&at| bytes[at..at + 8] == *format!("{keyword:<8}").as_bytes());
        let at = match (found, cards.last()) {
            (Some(&at), _) => at,
            (None, Some(&end)) if bytes[end..].starts_with(b"END ") => {
                bytes.splice(end..end, vec![b' '; 80]);
                end
            }
            _ => continue,
        };
        bytes[at..at + 80].copy_from_slice(&card(keyword, value));
        done.push(format!("{keyword} = {value}"));
        // Later insertions shift END: one insertion per call keeps the offsets valid.
        if found.is_none() {
            break;
        }
    }
    format!("sizes: {}", done.join(", "))
}

/// Decodes one input as every caller would select an HDU.
fn decode_all(bytes: &[u8], path: &Path, hdu: usize) -> Result<(), DataError> {
    let first = decode_fits(bytes, path, HduSelect::FirstImage).map(|_| ());
    let indexed = decode_fits(bytes, path, HduSelect::Index(hdu)).map(|_| ());
    first.and(indexed)
}

#[test]
fn fits_reader_survives_mutated_files() {
    let start = Instant::now();
    let seeds = fits_seeds();
    let mut rng = SplitMix64(seed());
    let path = Path::new("fuzz.fits");
    let total = cases(40_000);
    let (mut failures, mut decoded) = (Vec::new(), 0usize);
    for case in 0..total {
        let mut bytes = rng.pick(&seeds).clone();
        let steps: Vec<String> = (0..1 + rng.below(4))
            .map(|_| mutate_fits(&mut rng, &mut bytes))
            .collect();
        let hdu = rng.below(4);
        let (outcome, largest) = guarded(|| decode_all(&bytes, path, hdu));
        decoded += matches!(outcome, Ok(Ok(()))) as usize;
        if let Some(what) = verdict(outcome, largest, bytes.len(), "fuzz.fits") {
            failures.push(format!("case {case} ({}): {what}", steps.join("; ")));
        }
    }
    let files = read_through_files(&seeds, &mut rng, &mut failures);
    println!(
        "FITS fuzz: {total} mutated inputs ({decoded} decoded, the rest clean errors) + {files} \
         through files in {:.1} s",
        start.elapsed().as_secs_f64()
    );
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
    // The stream must reach both outcomes, or it tests little.
    assert!(
        decoded > total / 50 && decoded < total - total / 5,
        "{decoded} of {total} decoded"
    );
}

/// Some mutated files written to disk and read by path, as the dataset loader does.
fn read_through_files(
    seeds: &[Vec<u8>],
    rng: &mut SplitMix64,
    failures: &mut Vec<String>,
) -> usize {
    let dir = std::env::temp_dir().join(format!("gampen-fuzz-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temporary directory");
    let path = dir.join("fuzz.fits");
    let n = (cases(40_000) / 30).min(500);
    for case in 0..n {
        let mut bytes = rng.pick(seeds).clone();
        let what = mutate_fits(rng, &mut bytes);
        std::fs::write(&path, &bytes).expect("write to the temporary directory");
        let (outcome, largest) = guarded(|| read_fits_hdu(&path, HduSelect::FirstImage));
        if let Some(bad) = verdict(outcome, largest, bytes.len(), "fuzz.fits") {
            failures.push(format!("file case {case} ({what}): {bad}"));
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    n
}

/// Valid catalogs: the simulator's columns, extra text columns, quoting, sub-directories.
fn catalog_seeds() -> Vec<Vec<u8>> {
    let mut plain = String::from("file_name,object_id,bt,r_e,total_flux,ra\n");
    for i in 0..12 {
        plain.push_str(&format!(
            "sim_{i:07}.fits,{i},{},{},{},{}\n",
            (i as f64 + 0.5) / 13.0,
            0.2 + i as f64 * 0.1,
            1000.0 * (i + 1) as f64,
            150.0 + i as f64 * 1e-3
        ));
    }
    vec![
        plain.into_bytes(),
        b"bt,file_name,r_e,total_flux\n0,a.fits,1e-1,5\n1,sub/b.fits,2.5E0,6\n0.5,c.fits,3,7\n"
            .to_vec(),
        b"file_name , bt , r_e , total_flux , note\r\n a.fits , 0.25 , 1 , 2 , \"x, y\"\r\n b.fits , 0.75 , 2 , 3 , \"say \"\"hi\"\"\"\r\n"
            .to_vec(),
    ]
}

/// Starts of the lines (`b'\n'`) or cells (also `b','`) of `bytes`.
fn starts(bytes: &[u8], cells: bool) -> Vec<usize> {
    let ends = bytes
        .iter()
        .enumerate()
        .filter(|(_, &b)| b == b'\n' || (cells && b == b','))
        .map(|(i, _)| i + 1);
    std::iter::once(0)
        .chain(ends)
        .filter(|&i| i < bytes.len())
        .collect()
}

/// The line starting at `start`, with its line break.
fn line_at(bytes: &[u8], start: usize) -> std::ops::Range<usize> {
    let end = bytes[start..]
        .iter()
        .position(|&b| b == b'\n')
        .map_or(bytes.len(), |p| start + p + 1);
    start..end
}

/// Replaces the cell starting at `at` with a special number, a broken quote, a line
/// break, a duplicate-looking file name, a BOM or a blank.
fn replace_cell(rng: &mut SplitMix64, bytes: &mut Vec<u8>, at: usize) -> String {
    let end = bytes[at..]
        .iter()
        .position(|&b| b == b',' || b == b'\n' || b == b'\r')
        .map_or(bytes.len(), |p| at + p);
    let special = *rng.pick(SPECIAL);
    let token = *rng.pick(&[
        special,
        special,
        "\"q,\"",
        "\"open",
        "a\nb",
        "./a.fits",
        "a.fits",
        "\u{feff}x",
        " ",
    ]);
    bytes.splice(at..end, token.bytes());
    format!("cell at {at} := {token:?}")
}

/// Duplicates (copies elsewhere) or deletes a whole line.
fn edit_line(rng: &mut SplitMix64, bytes: &mut Vec<u8>, lines: &[usize]) -> String {
    let range = line_at(bytes, *rng.pick(lines));
    if rng.below(2) == 0 {
        bytes.drain(range.clone());
        return format!("line {range:?} deleted");
    }
    let copy = bytes[range.clone()].to_vec();
    let at = *rng.pick(lines);
    bytes.splice(at..at, copy);
    format!("line {range:?} duplicated at {at}")
}

/// One catalog mutation; returns what it did.
fn mutate_csv(rng: &mut SplitMix64, bytes: &mut Vec<u8>) -> String {
    let (lines, cells) = (starts(bytes, false), starts(bytes, true));
    let empty = bytes.is_empty();
    match rng.below(10) {
        0..=2 if !cells.is_empty() => {
            let at = *rng.pick(&cells);
            replace_cell(rng, bytes, at)
        }
        3 if !lines.is_empty() => edit_line(rng, bytes, &lines),
        4 => {
            let cut = rng.below(bytes.len() + 1);
            bytes.truncate(cut);
            format!("truncated to {cut}")
        }
        5 if !empty => {
            let at = rng.below(bytes.len());
            let b = *rng.pick(b",\"\n\r\0\xff\xfe\t ;");
            bytes.insert(at, b);
            format!("inserted {b:#04X} at {at}")
        }
        6 if !empty => flip_bytes(rng, bytes, 4),
        7 => {
            let name = *rng.pick(&["file_name,file_name", "File_Name", "bt"]);
            let text = String::from_utf8_lossy(bytes).replace("file_name", name);
            *bytes = text.into_bytes();
            format!("file_name renamed {name:?}")
        }
        // Bounded, so that two repetitions in a row do not multiply the run time.
        _ if bytes.len() < 4096 => {
            let copies = 1 + rng.below(40);
            let body: Vec<u8> = bytes
                .iter()
                .copied()
                .skip_while(|&b| b != b'\n')
                .skip(1)
                .collect();
            for _ in 0..copies {
                bytes.extend_from_slice(&body);
            }
            format!("body repeated {copies} times")
        }
        _ => flip_bytes(rng, bytes, 4),
    }
}

/// Parses one catalog as the dataset loader does: table, catalog with labels, label
/// transforms fitted and applied (through `GalaxyDataset::from_images` with 1x1 images).
fn parse_catalog(bytes: &[u8], path: &Path, labels: &[&str]) -> Result<(), DataError> {
    let table = CsvTable::from_reader(bytes, path)?;
    let columns: Vec<String> = labels.iter().map(|s| s.to_string()).collect();
    let catalog = Catalog::from_table(&table, &columns)?;
    let options = DatasetOptions {
        cutout_size: 1,
        channels: 1,
        arsinh: false,
        ..DatasetOptions::default()
    }
    .gampen_labels();
    if labels.len() != 3 || catalog.len() > 64 {
        return Ok(());
    }
    let images = vec![Image::new(vec![0.0], 1, 1, 1); catalog.len()];
    GalaxyDataset::from_images(catalog, images, &options).map(|_| ())
}

#[test]
fn catalog_parser_survives_mutated_tables() {
    let start = Instant::now();
    let seeds = catalog_seeds();
    let mut rng = SplitMix64(seed() ^ 0xC5_1A_70_6C);
    let path = Path::new("fuzz.csv");
    let label_sets: [&[&str]; 4] = [&[], &["bt"], &["r_e", "bt"], &["bt", "r_e", "total_flux"]];
    let total = cases(20_000);
    let (mut failures, mut parsed) = (Vec::new(), 0usize);
    for case in 0..total {
        let mut bytes = rng.pick(&seeds).clone();
        let steps: Vec<String> = (0..1 + rng.below(3))
            .map(|_| mutate_csv(&mut rng, &mut bytes))
            .collect();
        let labels = *rng.pick(&label_sets);
        let (outcome, largest) = guarded(|| parse_catalog(&bytes, path, labels));
        parsed += matches!(outcome, Ok(Ok(()))) as usize;
        if let Some(what) = verdict(outcome, largest, bytes.len(), "fuzz.csv") {
            failures.push(format!(
                "case {case} ({}; labels {labels:?}): {what}",
                steps.join("; ")
            ));
        }
    }
    println!(
        "catalog fuzz: {total} mutated inputs ({parsed} parsed, the rest clean errors) in {:.1} s",
        start.elapsed().as_secs_f64()
    );
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(
        parsed > total / 20 && parsed < total - total / 20,
        "{parsed} of {total} parsed"
    );
}
