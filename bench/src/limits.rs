//! The machine's own limits, measured in the same run as the load: one RS256 signature and one
//! RS256 verification with aws-lc-rs and a key parsed once, on one thread. Every server figure
//! is reported as a ratio to these, so that a busy or slow machine cancels out.

use std::time::{Duration, Instant};

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{
    KeyPair as _, ParsedPublicKey, RSA_PKCS1_2048_8192_SHA256, RSA_PKCS1_SHA256, RsaKeyPair,
};

/// The fixture the issuer's default RS256 key is compiled from.
pub const RS256_PEM: &str = include_str!("../../fixtures/keys/rs256.pem");

/// A signing input of the size of a real access token's (header and claims, base64url).
pub fn sample_signing_input() -> Vec<u8> {
    let mut input =
        b"eyJhbGciOiJSUzI1NiIsImtpZCI6ImZvcmdlLXJzMjU2IiwidHlwIjoiYXQrand0In0.".to_vec();
    input.extend(std::iter::repeat_n(b'x', 420));
    input
}

/// The issuer's RS256 key, parsed once.
pub fn rs256_key_pair() -> Result<RsaKeyPair, String> {
    let block = pem::parse(RS256_PEM).map_err(|e| format!("rs256.pem: {e}"))?;
    RsaKeyPair::from_pkcs8(block.contents()).map_err(|e| format!("rs256.pem: {e}"))
}

/// Operations per second and microseconds per operation.
#[derive(Debug, Clone, Copy, serde::Serialize, serde::Deserialize)]
pub struct Rate {
    pub per_second: f64,
    pub us_each: f64,
}

impl Rate {
    fn from(count: u64, elapsed: Duration) -> Self {
        let seconds = elapsed.as_secs_f64();
        Self {
            per_second: count as f64 / seconds,
            us_each: seconds * 1e6 / count as f64,
        }
    }
}

/// Runs `op` on this thread for about `duration`; checks the clock every few operations only.
///
/// The rate is per second of this thread's CPU time, not of wall-clock time: on a machine
/// other jobs share, the thread is descheduled now and then, and a wall-clock rate would make
/// one signature look dearer than the server's CPU time per signature.
pub fn rate(duration: Duration, mut op: impl FnMut()) -> Rate {
    // Warm caches and the CPU's frequency first.
    let warm = Instant::now();
    while warm.elapsed() < duration / 10 {
        op();
    }
    let cpu_before = crate::process::own_cpu_us().ok();
    let start = Instant::now();
    let mut count = 0u64;
    loop {
        for _ in 0..16 {
            op();
        }
        count += 16;
        if start.elapsed() >= duration {
            break;
        }
    }
    let wall = start.elapsed();
    let cpu = cpu_before
        .zip(crate::process::own_cpu_us().ok())
        .map(|(before, after)| Duration::from_secs_f64((after - before).max(0.0) / 1e6))
        // Below the 10 ms tick of /proc, fall back to the wall clock.
        .filter(|cpu| *cpu >= Duration::from_millis(50));
    Rate::from(count, cpu.unwrap_or(wall))
}

/// RS256 signatures per second on one thread.
pub fn sign_rate(duration: Duration) -> Result<Rate, String> {
    let pair = rs256_key_pair()?;
    let rng = SystemRandom::new();
    let message = sample_signing_input();
    let mut signature = vec![0u8; pair.public_modulus_len()];
    let mut failed = false;
    let rate = rate(duration, || {
        failed |= pair
            .sign(&RSA_PKCS1_SHA256, &rng, &message, &mut signature)
            .is_err();
    });
    if failed {
        return Err("RS256 signing failed".into());
    }
    Ok(rate)
}

/// RS256 verifications per second on one thread, with the public key parsed once.
pub fn verify_rate(duration: Duration) -> Result<Rate, String> {
    let pair = rs256_key_pair()?;
    let message = sample_signing_input();
    let mut signature = vec![0u8; pair.public_modulus_len()];
    pair.sign(
        &RSA_PKCS1_SHA256,
        &SystemRandom::new(),
        &message,
        &mut signature,
    )
    .map_err(|e| format!("cannot sign: {e}"))?;
    let public = pair.public_key().as_ref().to_vec();
    let parsed = ParsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, &public)
        .map_err(|e| format!("cannot parse the public key: {e}"))?;
    let mut failed = false;
    let rate = rate(duration, || {
        failed |= parsed.verify_sig(&message, &signature).is_err();
    });
    if failed {
        return Err("RS256 verification failed".into());
    }
    Ok(rate)
}

/// `side`'s rate over `other`'s (1.0 = as fast), from seconds per operation of each measured
/// in the same rounds: the median over rounds of `other[i] / side[i]`. A pair shares a round,
/// so a change of the machine's speed between rounds cancels out of every ratio.
pub fn median_ratio(other: &[f64], side: &[f64]) -> f64 {
    let mut ratios: Vec<f64> = other
        .iter()
        .zip(side)
        .filter(|(_, s)| **s > 0.0)
        .map(|(o, s)| o / s)
        .collect();
    median(&mut ratios)
}

/// The median of a list (0 when empty).
pub fn median(values: &mut [f64]) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    values.sort_by(f64::total_cmp);
    let mid = values.len() / 2;
    if values.len().is_multiple_of(2) {
        (values[mid - 1] + values[mid]) / 2.0
    } else {
        values[mid]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fixture_key_signs_and_verifies() {
        let sign = sign_rate(Duration::from_millis(20)).unwrap();
        let verify = verify_rate(Duration::from_millis(20)).unwrap();
        assert!(sign.per_second > 0.0 && verify.per_second > 0.0);
    }

    #[test]
    fn median_of_odd_and_even_lists() {
        assert_eq!(median(&mut [3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&mut [4.0, 1.0, 2.0, 3.0]), 2.5);
        assert_eq!(median(&mut []), 0.0);
    }

    #[test]
    fn paired_ratios_cancel_a_drift_between_rounds() {
        // The machine halves its speed in the second round; each side is twice the other's
        // time in both, so the ratio holds.
        let fast = [1.0, 2.0, 1.0];
        let slow = [2.0, 4.0, 2.0];
        assert_eq!(median_ratio(&slow, &fast), 2.0);
        assert_eq!(median_ratio(&fast, &slow), 0.5);
        // One disturbed round does not move the median.
        assert_eq!(median_ratio(&[2.0, 2.0, 9.0], &[1.0, 1.0, 1.0]), 2.0);
        assert_eq!(median_ratio(&[], &[]), 0.0);
    }
}
