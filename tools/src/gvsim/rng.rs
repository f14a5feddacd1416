//! A small seeded pseudo-random generator (SplitMix64) for fault injection
//! and clock jitter.
//!
//! Invariant: the sequence depends only on the seed, so a run with the same
//! `--seed` drops, duplicates and reorders exactly the same packets.

/// A SplitMix64 generator: 64 bits of state, one multiply-xorshift per draw.
#[derive(Debug, Clone)]
pub struct Rng {
    state: u64,
}

impl Rng {
    /// A generator seeded with `seed`.
    pub fn new(seed: u64) -> Self {
        Rng { state: seed }
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        mix64(self.state)
    }

    /// A uniform value in [0, 1).
    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// True with probability `p` (p ≤ 0 never, p ≥ 1 always).
    pub fn chance(&mut self, p: f64) -> bool {
        p > 0.0 && (p >= 1.0 || self.next_f64() < p)
    }

    /// An approximately normal value with mean 0 and standard deviation `sigma`
    /// (sum of four uniforms, which is plenty for clock jitter).
    pub fn normal(&mut self, sigma: f64) -> f64 {
        let sum: f64 = (0..4).map(|_| self.next_f64()).sum();
        // Four U(0,1) have mean 2 and variance 4/12.
        (sum - 2.0) * sigma / (4.0f64 / 12.0).sqrt()
    }
}

/// The SplitMix64 finaliser: a bijective mix of 64 bits.
pub fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_sequence_and_rates_hold() {
        let mut a = Rng::new(42);
        let mut b = Rng::new(42);
        let xs: Vec<u64> = (0..8).map(|_| a.next_u64()).collect();
        let ys: Vec<u64> = (0..8).map(|_| b.next_u64()).collect();
        assert_eq!(xs, ys);
        assert_ne!(Rng::new(43).next_u64(), xs[0]);
        let mut r = Rng::new(7);
        let hits = (0..100_000).filter(|_| r.chance(0.02)).count();
        assert!((1700..2300).contains(&hits), "{hits}");
        assert!(!r.chance(0.0) && r.chance(1.0));
        let samples: Vec<f64> = (0..20_000).map(|_| r.normal(10.0)).collect();
        let mean = samples.iter().sum::<f64>() / samples.len() as f64;
        let var = samples.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / samples.len() as f64;
        assert!(mean.abs() < 0.5, "{mean}");
        assert!((var.sqrt() - 10.0).abs() < 0.5, "{}", var.sqrt());
    }
}
