use super::*;

/// splitmix64: a few lines of seeded randomness, so the test needs no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        ((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 53) as f64
    }

    fn pick(&mut self, probabilities: &[f64]) -> u8 {
        let mut x = self.next();
        for (i, p) in probabilities.iter().enumerate() {
            if x < *p {
                return i as u8;
            }
            x -= p;
        }
        (probabilities.len() - 1) as u8
    }
}

const TRUE_M: [&[f64]; 5] = [
    &[0.70, 0.08, 0.04, 0.01, 0.06, 0.02, 0.03, 0.02, 0.04],
    &[0.75, 0.08, 0.01, 0.06, 0.02, 0.03, 0.05],
    &[0.80, 0.03, 0.04, 0.06, 0.02, 0.01, 0.04],
    &[0.95, 0.05],
    &[0.40, 0.15, 0.02, 0.03, 0.05, 0.10, 0.25],
];
const TRUE_U: [&[f64]; 5] = [
    &[0.02, 0.005, 0.004, 0.001, 0.01, 0.005, 0.05, 0.03, 0.875],
    &[0.01, 0.004, 0.001, 0.01, 0.005, 0.03, 0.94],
    &[0.001, 0.001, 0.002, 0.03, 0.005, 0.01, 0.951],
    &[0.5, 0.5],
    &[0.002, 0.005, 0.005, 0.001, 0.002, 0.05, 0.935],
];

/// Pairs drawn from the true m and u, a share `lambda` of them matches, 5% of
/// values missing.
fn pairs(seed: u64, n: usize, lambda: f64) -> Vec<ComparisonVector> {
    let mut rng = Rng(seed);
    (0..n)
        .map(|_| {
            let tables = if rng.next() < lambda { TRUE_M } else { TRUE_U };
            let mut vector = ComparisonVector::default();
            for (level, probabilities) in vector.0.iter_mut().zip(tables) {
                let value = rng.pick(probabilities);
                *level = (rng.next() >= 0.05).then_some(value);
            }
            vector
        })
        .collect()
}

fn with_true_u() -> Model {
    let mut config = Model::default().config().clone();
    write_back(&mut config, &table_of(TRUE_U), |l, p| l.u = p);
    Model::from_config(config).expect("valid")
}

fn table_of(rows: [&[f64]; 5]) -> Table {
    let mut table = [[1.0; MAX_LEVELS]; 5];
    for (row, values) in table.iter_mut().zip(rows) {
        row[..values.len()].copy_from_slice(values);
    }
    table
}

fn assert_close(config: &ModelConfig, expected: [&[f64]; 5], pick: fn(&LevelProbabilities) -> f64, tolerance: f64) {
    for (field, values) in Field::COMPARED.into_iter().zip(expected) {
        for (level, value) in config.levels(field).iter().zip(values) {
            let got = pick(level);
            assert!((got - value).abs() < tolerance, "{}.{}: {got:.4}, expected {value}", field.as_str(), level.level);
        }
    }
}

#[test]
fn em_recovers_m_with_u_fixed() {
    let report = estimate(&with_true_u(), &pairs(1, 200_000, 0.2), &EmOptions::default()).expect("pairs");
    assert!(report.converged, "{} iterations", report.iterations);
    assert!((report.match_share - 0.2).abs() < 0.005, "{}", report.match_share);
    assert_close(&report.config, TRUE_M, |l| l.m, 0.01);
    assert_close(&report.config, TRUE_U, |l| l.u, 1e-12);
    assert_eq!(report.config.prior, Model::default().config().prior, "the prior is not the blocked match share");
    assert!(Model::from_config(report.config).is_ok(), "the estimate is a valid weights file");
}

#[test]
fn em_recovers_m_and_u_together() {
    let options = EmOptions { estimate_u: true, ..EmOptions::default() };
    let report = estimate(&Model::default(), &pairs(2, 200_000, 0.3), &options).expect("pairs");
    assert_close(&report.config, TRUE_M, |l| l.m, 0.02);
    assert_close(&report.config, TRUE_U, |l| l.u, 0.02);
}

#[test]
fn frozen_fields_keep_their_probabilities() {
    let options = EmOptions { frozen: vec![Field::DateOfBirth], ..EmOptions::default() };
    let start = with_true_u();
    let report = estimate(&start, &pairs(3, 20_000, 0.2), &options).expect("pairs");
    assert_eq!(report.config.date_of_birth, start.config().date_of_birth);
    assert_ne!(report.config.first_name, start.config().first_name);
}

#[test]
fn a_field_forced_to_agree_by_blocking_is_no_evidence_when_frozen() {
    // Pairs blocked on date of birth all agree on it, matches or not.
    let mut blocked = pairs(5, 200_000, 0.2);
    for vector in &mut blocked {
        vector.0[2] = Some(0);
    }
    let options = EmOptions { frozen: vec![Field::DateOfBirth], ..EmOptions::default() };
    let report = estimate(&with_true_u(), &blocked, &options).expect("pairs");
    assert!((report.match_share - 0.2).abs() < 0.005, "{}", report.match_share);
    let mut expected = TRUE_M;
    expected[2] = &[0.87, 0.02, 0.03, 0.04, 0.01, 0.02, 0.01];
    assert_close(&report.config, expected, |l| l.m, 0.01);
}

#[test]
fn u_is_the_level_frequency_among_random_pairs() {
    let config = u_from_random_pairs(&Model::default(), &pairs(4, 200_000, 0.0)).expect("pairs");
    assert_close(&config, TRUE_U, |l| l.u, 0.005);
    assert_eq!(
        config.first_name.iter().map(|l| l.m).collect::<Vec<_>>(),
        [0.847, 0.06, 0.03, 0.006, 0.03, 0.012, 0.01, 0.003, 0.002]
    );
}

#[test]
fn there_must_be_pairs() {
    assert!(matches!(estimate(&Model::default(), &[], &EmOptions::default()), Err(EmError::NoPairs)));
}
