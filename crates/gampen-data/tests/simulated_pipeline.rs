//! The one-call path: simulate 1000 galaxies with splits, load a split, build batches.

use std::path::PathBuf;
use std::sync::OnceLock;

use burn::tensor::Device;
use gampen_data::simulate::SIMULATED_BALANCE_BINS;
use gampen_data::{
    load_split, prepare_simulated_dataset, CsvTable, DatasetOptions, GalaxyDataset,
    SimulatorConfig, STANDARD_SPLITS,
};

/// Simulated once for all tests of this file.
fn data_dir() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("gampen-data-it-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let config = SimulatorConfig {
            image_size: 32,
            ..SimulatorConfig::default()
        };
        let prepared = prepare_simulated_dataset(&dir, 1000, &config, 7).expect("simulate");
        assert_eq!(prepared.truths.len(), 1000);
        assert_eq!(prepared.splits.len(), 42);
        dir
    })
}

fn options() -> DatasetOptions {
    DatasetOptions {
        cutout_size: 28,
        ..DatasetOptions::default()
    }
    .gampen_labels()
}

#[test]
fn writes_catalog_cutouts_and_all_splits() {
    let dir = data_dir();
    let info = CsvTable::read(dir.join("info.csv")).unwrap();
    assert_eq!(info.rows.len(), 1000);
    for col in [
        "file_name",
        "object_id",
        "total_flux",
        "bt",
        "r_e",
        "magnitude",
        "bulge_re",
        "disk_q",
    ] {
        info.column(col).unwrap();
    }
    for (size, f) in STANDARD_SPLITS {
        let parts: Vec<usize> = ["train", "devel", "test"]
            .iter()
            .map(|p| {
                load_split(dir, &format!("unbalanced-{size}-{p}"))
                    .unwrap()
                    .rows
                    .len()
            })
            .collect();
        assert_eq!(parts.iter().sum::<usize>(), 1000, "{size}");
        assert!(
            (parts[0] as f64 - f.train * 1000.0).abs() <= 1.0,
            "{size}: {parts:?}"
        );
        let train = load_split(dir, &format!("balanced-{size}-train")).unwrap();
        assert_eq!(train.headers, info.headers);
    }
    // Balanced: equal counts per B/T bin (over the observed range) in train + devel + test.
    let bt_all = info.numeric_column("bt").unwrap();
    let (lo, hi) = bt_all
        .iter()
        .fold((1.0f64, 0.0f64), |(a, b), &v| (a.min(v), b.max(v)));
    let nb = SIMULATED_BALANCE_BINS;
    let mut counts = vec![0usize; nb];
    for p in ["train", "devel", "test"] {
        let t = load_split(dir, &format!("balanced-dev-{p}")).unwrap();
        for bt in t.numeric_column("bt").unwrap() {
            counts[(((bt - lo) / (hi - lo) * nb as f64) as usize).min(nb - 1)] += 1;
        }
    }
    assert!(
        counts.iter().all(|&c| c == counts[0] && c > 150),
        "{counts:?}"
    );
    let first = gampen_data::read_fits(dir.join("cutouts").join(&info.rows[0][0])).unwrap();
    assert_eq!((first.bands, first.height, first.width), (1, 32, 32));
}

#[test]
fn loads_splits_into_batches() {
    let dir = data_dir();
    let [train, devel, test] = GalaxyDataset::load_splits(dir, "balanced-dev", &options()).unwrap();
    assert!(train.len() > 500 && !devel.is_empty() && !test.is_empty());
    assert_eq!(devel.label_transform(), train.label_transform());
    // Standard scaling fitted on train: zero mean, unit variance there.
    for k in 0..3 {
        let v: Vec<f64> = (0..train.len())
            .map(|i| train.targets(i)[k] as f64)
            .collect();
        let mean = v.iter().sum::<f64>() / v.len() as f64;
        let var = v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / v.len() as f64;
        assert!(
            mean.abs() < 1e-4 && (var - 1.0).abs() < 1e-3,
            "target {k}: {mean} {var}"
        );
    }
    // Inverse of the targets gives back the catalog labels.
    let lt = train.label_transform().unwrap();
    for i in 0..20 {
        let z: Vec<f64> = test.targets(i).iter().map(|&v| v as f64).collect();
        let raw = &test.catalog().labels[i];
        for (k, (a, b)) in lt.inverse(&z).iter().zip(raw).enumerate() {
            let b = if k == 0 {
                b.clamp(1e-3, 1.0 - 1e-3)
            } else {
                *b
            };
            assert!(
                (a - b).abs() <= 1e-4 * b.abs().max(1.0),
                "label {k}: {a} vs {b}"
            );
        }
    }
    assert!(test.catalog().extra(0, "object_id").is_some());

    let device = Device::flex();
    let batch = train.batch(&[0, 5, 9], None, &device);
    assert_eq!(batch.images.dims(), [3, 3, 28, 28]);
    assert_eq!(batch.targets.as_ref().unwrap().dims(), [3, 3]);
    let px = gampen_testing::to_vec(batch.images.clone());
    assert!(px.iter().all(|v| v.is_finite()));
    let epoch: Vec<_> = train.epoch(64, Some(1), &device).collect();
    assert_eq!(
        epoch.iter().map(|b| b.index.len()).sum::<usize>(),
        train.len()
    );
    let again: Vec<_> = train.epoch(64, Some(1), &device).take(1).collect();
    assert_eq!(epoch[0].index, again[0].index);
    assert_eq!(
        gampen_testing::to_vec(epoch[0].images.clone()),
        gampen_testing::to_vec(again[0].images.clone())
    );
}

#[test]
fn errors_name_the_split_and_the_file() {
    let dir = data_dir();
    let missing = DatasetOptions {
        split: Some("balanced-huge-train".into()),
        ..options()
    };
    let err = GalaxyDataset::load(dir, &missing).unwrap_err().to_string();
    assert!(err.contains("balanced-huge-train.csv"), "{err}");
    let too_big = DatasetOptions {
        split: Some("balanced-xs-devel".into()),
        cutout_size: 40,
        ..options()
    };
    let err = GalaxyDataset::load(dir, &too_big).unwrap_err().to_string();
    assert!(
        err.contains("sim_") && err.contains("smaller than the requested 40x40"),
        "{err}"
    );
    let bad_col = DatasetOptions {
        split: Some("balanced-xs-devel".into()),
        labels: vec![("R_e".into(), gampen_data::Transform::Ln)],
        ..options()
    };
    let err = GalaxyDataset::load(dir, &bad_col).unwrap_err().to_string();
    assert!(err.contains("\"R_e\"") && err.contains("r_e"), "{err}");
}

#[test]
fn in_memory_path_without_disk() {
    let config = SimulatorConfig {
        image_size: 32,
        seed: 3,
        ..SimulatorConfig::default()
    };
    let sims = gampen_data::simulate_images(&config, 64).unwrap();
    let (images, truths): (Vec<_>, Vec<_>) = sims.into_iter().unzip();
    let catalog = gampen_data::Catalog {
        path: PathBuf::from("memory"),
        file_names: truths.iter().map(|t| t.file_name.clone()).collect(),
        label_columns: vec!["bt".into(), "r_e".into(), "total_flux".into()],
        labels: truths
            .iter()
            .map(|t| vec![t.bt, t.r_e, t.total_flux])
            .collect(),
        extra_columns: vec![],
        extras: vec![vec![]; truths.len()],
    };
    let ds = GalaxyDataset::from_images(catalog, images, &options()).unwrap();
    let device = Device::flex();
    let b = ds.batch(&(0..8).collect::<Vec<_>>(), None, &device);
    assert_eq!(b.images.dims(), [8, 3, 28, 28]);
}
