//! Any bytes as a catalog CSV: parsed as a table, then as a catalog with several label
//! sets. Every failure must be an error whose message is one line naming the file, never a
//! panic; every success must hold finite labels and distinct file names.
#![no_main]

use std::collections::HashSet;
use std::path::Path;

use gampen_data::{Catalog, CsvTable};
use libfuzzer_sys::fuzz_target;

fn check(err: gampen_data::DataError) {
    let msg = err.to_string();
    assert!(
        msg.starts_with("fuzz.csv: ") && !msg.contains('\n'),
        "{msg}"
    );
}

fuzz_target!(|data: &[u8]| {
    let table = match CsvTable::from_reader(data, Path::new("fuzz.csv")) {
        Ok(table) => table,
        Err(e) => return check(e),
    };
    let label_sets: [&[&str]; 3] = [&[], &["bt"], &["bt", "r_e", "total_flux"]];
    for labels in label_sets {
        let columns: Vec<String> = labels.iter().map(|s| s.to_string()).collect();
        match Catalog::from_table(&table, &columns) {
            Ok(catalog) => {
                assert!(catalog.labels.iter().flatten().all(|v| v.is_finite()));
                let distinct: HashSet<&String> = catalog.file_names.iter().collect();
                assert_eq!(distinct.len(), catalog.len());
            }
            Err(e) => check(e),
        }
    }
});
