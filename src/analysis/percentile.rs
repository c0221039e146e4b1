//! Percentile ranks of a metric within one graph, for "PageRank and betweenness percentile in
//! its ecosystem": the share of nodes scoring below a node, ties counted half (scipy's
//! `percentileofscore(values, v, kind="mean")`), so equal scores get equal ranks and a metric
//! that is the same everywhere ranks every node at 50.

/// The percentile rank (0–100) of each value among all of them, in input order. NaN ranks
/// above every number (as `f64::total_cmp` orders it). O(n log n).
pub fn percentile_ranks(values: &[f64]) -> Vec<f64> {
    let n = values.len();
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_unstable_by(|&a, &b| values[a].total_cmp(&values[b]));
    let mut ranks = vec![0.0; n];
    let mut start = 0;
    while start < n {
        let mut end = start + 1;
        while end < n && values[order[end]].total_cmp(&values[order[start]]).is_eq() {
            end += 1;
        }
        // `start` values are strictly below, `end` are at or below.
        let rank = 100.0 * (start + end) as f64 / (2.0 * n as f64);
        for &i in &order[start..end] {
            ranks[i] = rank;
        }
        start = end;
    }
    ranks
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distinct_values_rank_by_position_and_ties_share_a_rank() {
        // scipy.stats.percentileofscore([3, 1, 2, 2], v, kind="mean") for v = 3, 1, 2, 2.
        assert_eq!(
            percentile_ranks(&[3.0, 1.0, 2.0, 2.0]),
            vec![87.5, 12.5, 50.0, 50.0]
        );
    }

    #[test]
    fn a_constant_metric_ranks_everyone_in_the_middle() {
        assert_eq!(percentile_ranks(&[0.0; 3]), vec![50.0; 3]);
        assert!(percentile_ranks(&[]).is_empty());
    }
}
