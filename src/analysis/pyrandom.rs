//! Python's `random.Random(seed).sample(range(n), k)`, bit for bit: the Mersenne Twister
//! (MT19937, seeded as CPython seeds it from an integer) and CPython's `sample` algorithm.
//!
//! networkx picks betweenness pivots with `seed.sample(list(G), k)`; with node indices in the
//! order networkx lists the nodes, the same seed picks the same pivots here, so a sampled
//! betweenness can be compared with networkx's value for value.

const N: usize = 624;
const M: usize = 397;

/// CPython's Mersenne Twister.
#[derive(Debug, Clone)]
pub struct PyRandom {
    state: Box<[u32; N]>,
    index: usize,
}

impl PyRandom {
    /// `random.Random(seed)` for a non-negative integer seed.
    pub fn new(seed: u64) -> Self {
        // CPython feeds the seed's absolute value to init_by_array as little-endian 32-bit
        // words, at least one.
        let low = seed as u32;
        let high = (seed >> 32) as u32;
        let key: &[u32] = if high == 0 { &[low] } else { &[low, high] };
        let mut rng = Self::from_seed_word(19_650_218);
        rng.init_by_array(key);
        rng
    }

    fn from_seed_word(seed: u32) -> Self {
        let mut state = Box::new([0u32; N]);
        state[0] = seed;
        for i in 1..N {
            let prev = state[i - 1];
            state[i] = 1_812_433_253u32
                .wrapping_mul(prev ^ (prev >> 30))
                .wrapping_add(i as u32);
        }
        Self { state, index: N }
    }

    fn init_by_array(&mut self, key: &[u32]) {
        let mt = &mut self.state;
        let (mut i, mut j) = (1usize, 0usize);
        for _ in 0..N.max(key.len()) {
            let prev = mt[i - 1];
            mt[i] = (mt[i] ^ (prev ^ (prev >> 30)).wrapping_mul(1_664_525))
                .wrapping_add(key[j])
                .wrapping_add(j as u32);
            i += 1;
            j += 1;
            if i >= N {
                mt[0] = mt[N - 1];
                i = 1;
            }
            if j >= key.len() {
                j = 0;
            }
        }
        for _ in 0..N - 1 {
            let prev = mt[i - 1];
            mt[i] =
                (mt[i] ^ (prev ^ (prev >> 30)).wrapping_mul(1_566_083_941)).wrapping_sub(i as u32);
            i += 1;
            if i >= N {
                mt[0] = mt[N - 1];
                i = 1;
            }
        }
        mt[0] = 0x8000_0000;
    }

    /// The next 32 random bits (`genrand_uint32`).
    pub fn next_u32(&mut self) -> u32 {
        const UPPER: u32 = 0x8000_0000;
        const LOWER: u32 = 0x7fff_ffff;
        const MATRIX_A: u32 = 0x9908_b0df;
        if self.index >= N {
            let mt = &mut self.state;
            for k in 0..N {
                let y = (mt[k] & UPPER) | (mt[(k + 1) % N] & LOWER);
                let mag = if y & 1 == 1 { MATRIX_A } else { 0 };
                mt[k] = mt[(k + M) % N] ^ (y >> 1) ^ mag;
            }
            self.index = 0;
        }
        let mut y = self.state[self.index];
        self.index += 1;
        y ^= y >> 11;
        y ^= (y << 7) & 0x9d2c_5680;
        y ^= (y << 15) & 0xefc6_0000;
        y ^ (y >> 18)
    }

    /// `getrandbits(bits)` for `bits <= 32`.
    fn bits(&mut self, bits: u32) -> u32 {
        if bits == 0 {
            0
        } else {
            self.next_u32() >> (32 - bits)
        }
    }

    /// `_randbelow(n)`: uniform in `[0, n)` by rejection, `n >= 1`.
    fn below(&mut self, n: u32) -> u32 {
        let bits = u32::BITS - n.leading_zeros();
        loop {
            let r = self.bits(bits);
            if r < n {
                return r;
            }
        }
    }

    /// `sample(range(n), k)`: `k` distinct values of `[0, n)` in the order Python draws them.
    ///
    /// # Panics
    /// When `k > n` (Python raises `ValueError`).
    pub fn sample(&mut self, n: u32, k: u32) -> Vec<u32> {
        assert!(k <= n, "a sample of {k} from a population of {n}");
        let mut result = Vec::with_capacity(k as usize);
        // CPython compares the cost of a pool list against a set of the chosen.
        let mut set_size = 21u64;
        if k > 5 {
            let exponent = ((3.0 * f64::from(k)).ln() / 4f64.ln()).ceil();
            set_size += 4u64.pow(exponent as u32);
        }
        if u64::from(n) <= set_size {
            let mut pool: Vec<u32> = (0..n).collect();
            for i in 0..k {
                let j = self.below(n - i) as usize;
                result.push(pool[j]);
                pool[j] = pool[(n - i - 1) as usize];
            }
        } else {
            let mut selected = rustc_hash::FxHashSet::default();
            for _ in 0..k {
                let mut j = self.below(n);
                while !selected.insert(j) {
                    j = self.below(n);
                }
                result.push(j);
            }
        }
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Expected values printed by CPython 3.11:
    // random.Random(s).getrandbits(32) and random.Random(s).sample(range(n), k).
    #[test]
    fn the_stream_matches_cpython() {
        let mut rng = PyRandom::new(42);
        assert_eq!(
            [rng.next_u32(), rng.next_u32(), rng.next_u32()],
            [2_746_317_213, 478_163_327, 107_420_369]
        );
        let mut rng = PyRandom::new(0);
        assert_eq!(
            [rng.next_u32(), rng.next_u32()],
            [3_626_764_237, 1_654_615_998]
        );
        let mut rng = PyRandom::new((1 << 40) + 5);
        assert_eq!(
            [rng.next_u32(), rng.next_u32()],
            [2_166_296_868, 2_220_160_828]
        );
    }

    #[test]
    fn samples_match_cpython_in_both_of_its_strategies() {
        assert_eq!(PyRandom::new(7).sample(10, 4), [5, 2, 6, 9]);
        assert_eq!(
            PyRandom::new(7).sample(1000, 8),
            [331, 970, 154, 404, 666, 49, 74, 840]
        );
        assert_eq!(
            PyRandom::new(123).sample(1_000_000, 3),
            [54_907, 280_679, 91_421]
        );
    }
}
