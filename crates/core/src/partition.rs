//! Which reports belong together: the connected components of the graph whose nodes are reports
//! and identifiers and whose edges say "this report names this identifier", and the shortest chain
//! of shared identifiers between two reports (the "why are these linked" a triager asks).
//!
//! Both work on plain ids so that the store can feed them straight from its link table. The
//! partition is built to run over every link at once (tens of millions): ids are made dense by
//! sorting, reports that share an identifier are found by sorting the links by identifier, and
//! the disjoint sets are two `u32` arrays over reports, with no allocation per node.

use std::collections::VecDeque;

/// Groups reports that share identifiers, directly or through a chain of other reports.
///
/// `reports` are report ids, each a node even with no links; `links` are `(report_id,
/// identifier_id)` edges, identifier ids being their own id space (a link's report is a node even
/// if `reports` omits it). Each component lists its report ids ascending; components are ordered
/// by their smallest report id.
pub fn components(reports: &[i64], links: &[(i64, i64)]) -> Vec<Vec<i64>> {
    // Dense report indices by sorting rather than by searching: 10^7 binary searches miss the
    // cache at every level and took seven times as long as sorting in a measurement.
    let (report_ids, dense) = densify(reports.iter().copied().chain(links.iter().map(|&(report, _)| report)));
    let link_reports = &dense[reports.len()..];

    // Reports naming the same identifier are neighbours in this order; joining each to the one
    // before it joins them all, without numbering identifiers.
    let mut by_identifier: Vec<(i64, u32)> =
        links.iter().zip(link_reports).map(|(&(_, identifier), &report)| (identifier, report)).collect();
    drop(dense);
    by_identifier.sort_unstable();
    let mut sets = DisjointSets::new(report_ids.len());
    for pair in by_identifier.windows(2) {
        if pair[0].0 == pair[1].0 {
            sets.union(pair[0].1 as usize, pair[1].1 as usize);
        }
    }
    drop(by_identifier);

    // Reports are visited in ascending id order, so numbering components by first visit orders
    // them by smallest report id and fills each one in ascending order.
    let mut component_of_root = vec![u32::MAX; report_ids.len()];
    let mut component_of_report = Vec::with_capacity(report_ids.len());
    let mut sizes: Vec<usize> = Vec::new();
    for report in 0..report_ids.len() {
        let component = &mut component_of_root[sets.find(report)];
        if *component == u32::MAX {
            *component = sizes.len() as u32;
            sizes.push(0);
        }
        sizes[*component as usize] += 1;
        component_of_report.push(*component);
    }
    drop(component_of_root);
    drop(sets);

    let mut out: Vec<Vec<i64>> = sizes.into_iter().map(Vec::with_capacity).collect();
    for (&id, component) in report_ids.iter().zip(component_of_report) {
        out[component as usize].push(id);
    }
    out
}

/// One report on the chain between two reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkStep {
    /// The report.
    pub report_id: i64,
    /// The identifier key it shares with the next report; `None` on the last step.
    pub via_key: Option<String>,
}

/// The shortest chain of reports from `from` to `to`, each sharing an identifier key with the next.
///
/// `links` are `(report_id, key)` pairs. `None` when no chain exists; `from == to` gives the single
/// step `from`. Among chains of equal length the one whose report ids are smallest, compared step
/// by step, wins, and between two reports the smallest shared key is named, so the answer is the
/// same whatever order the links come in.
pub fn shortest_link(links: &[(i64, String)], from: i64, to: i64) -> Option<Vec<LinkStep>> {
    if from == to {
        return Some(vec![LinkStep { report_id: from, via_key: None }]);
    }
    let graph = LinkGraph::new(links);
    let from = graph.report_index(from)?;
    let to = graph.report_index(to)?;
    let distance = graph.distances_to(to, from);
    if distance[from] == u32::MAX {
        return None;
    }

    // Walk down the distances, taking the smallest report one report-hop nearer each time.
    let mut steps = Vec::with_capacity(distance[from] as usize / 2 + 1);
    let mut current = from;
    while current != to {
        let d = distance[current];
        let next = graph
            .keys_of(current)
            .iter()
            .filter(|&&key| distance[graph.key_node(key)] == d - 1)
            .filter_map(|&key| graph.reports_of(key).iter().copied().find(|&r| distance[r as usize] == d - 2))
            .min()
            .expect("a node at distance d > 0 has a neighbour at d - 1") as usize;
        let via = graph
            .keys_of(current)
            .iter()
            .copied()
            .find(|&key| graph.reports_of(key).binary_search(&(next as u32)).is_ok())
            .expect("consecutive reports on the chain share a key");
        steps.push(LinkStep { report_id: graph.reports[current], via_key: Some(graph.keys[via as usize].to_owned()) });
        current = next;
    }
    steps.push(LinkStep { report_id: graph.reports[to], via_key: None });
    Some(steps)
}

/// Numbers ids densely: the sorted distinct ids, and for each input (in order) its index there.
fn densify(ids: impl Iterator<Item = i64>) -> (Vec<i64>, Vec<u32>) {
    let mut order: Vec<(i64, u32)> = ids.enumerate().map(|(position, id)| (id, dense_u32(position))).collect();
    order.sort_unstable();
    let mut distinct: Vec<i64> = Vec::new();
    let mut dense = vec![0; order.len()];
    for (id, position) in order {
        if distinct.last() != Some(&id) {
            distinct.push(id);
        }
        dense[position as usize] = dense_u32(distinct.len() - 1);
    }
    distinct.shrink_to_fit();
    (distinct, dense)
}

/// An index as `u32`, which halves the memory of the arrays over tens of millions of links.
fn dense_u32(index: usize) -> u32 {
    u32::try_from(index).expect("fewer than 2^32 reports and links (2^32 links would take 64 GiB)")
}

/// Disjoint sets over `0..n` with union by size and path compression.
///
/// Hand-written rather than taken from a crate: it is thirty lines. `petgraph::unionfind` would
/// do, but it brings a whole graph library (and `fixedbitset`, `hashbrown`, `indexmap`) into the
/// domain crate for one struct, and unions by rank; `disjoint-sets` is a new, rarely updated
/// dependency for the same thirty lines.
struct DisjointSets {
    parent: Vec<u32>,
    size: Vec<u32>,
}

impl DisjointSets {
    fn new(n: usize) -> Self {
        Self { parent: (0..dense_u32(n)).collect(), size: vec![1; n] }
    }

    fn find(&mut self, node: usize) -> usize {
        let mut root = node;
        while self.parent[root] as usize != root {
            root = self.parent[root] as usize;
        }
        let mut node = node;
        while node != root {
            let next = self.parent[node] as usize;
            self.parent[node] = root as u32;
            node = next;
        }
        root
    }

    fn union(&mut self, a: usize, b: usize) {
        let (mut a, mut b) = (self.find(a), self.find(b));
        if a == b {
            return;
        }
        if self.size[a] < self.size[b] {
            std::mem::swap(&mut a, &mut b);
        }
        self.parent[b] = a as u32;
        self.size[a] += self.size[b];
    }
}

/// The report–key graph in compressed adjacency form, both sides sorted so that smaller index
/// means smaller id or key.
struct LinkGraph<'a> {
    reports: Vec<i64>,
    keys: Vec<&'a str>,
    report_start: Vec<usize>,
    report_keys: Vec<u32>,
    key_start: Vec<usize>,
    key_reports: Vec<u32>,
}

impl<'a> LinkGraph<'a> {
    fn new(links: &'a [(i64, String)]) -> Self {
        let (reports, report_of_link) = densify(links.iter().map(|(report, _)| *report));
        let mut keys: Vec<&str> = links.iter().map(|(_, key)| key.as_str()).collect();
        keys.sort_unstable();
        keys.dedup();

        let mut edges: Vec<(u32, u32)> = links
            .iter()
            .zip(report_of_link)
            .map(|((_, key), report)| (report, keys.partition_point(|&k| k < key.as_str()) as u32))
            .collect();
        edges.sort_unstable();
        edges.dedup();
        let (report_start, report_keys) = adjacency(reports.len(), edges.iter().copied());
        edges.sort_unstable_by_key(|&(report, key)| (key, report));
        let (key_start, key_reports) = adjacency(keys.len(), edges.iter().map(|&(report, key)| (key, report)));
        Self { reports, keys, report_start, report_keys, key_start, key_reports }
    }

    fn report_index(&self, id: i64) -> Option<usize> {
        self.reports.binary_search(&id).ok()
    }

    fn keys_of(&self, report: usize) -> &[u32] {
        &self.report_keys[self.report_start[report]..self.report_start[report + 1]]
    }

    fn reports_of(&self, key: u32) -> &[u32] {
        let key = key as usize;
        &self.key_reports[self.key_start[key]..self.key_start[key + 1]]
    }

    /// Node number of a key: reports are nodes `0..R`, keys `R..R+K`.
    fn key_node(&self, key: u32) -> usize {
        self.reports.len() + key as usize
    }

    /// Breadth-first distances (in edges) from `origin` to every node, stopping once `target` is
    /// reached: every node nearer than `target` has its distance by then. Unreached is `u32::MAX`.
    fn distances_to(&self, origin: usize, target: usize) -> Vec<u32> {
        let mut distance = vec![u32::MAX; self.reports.len() + self.keys.len()];
        distance[origin] = 0;
        let mut queue = VecDeque::from([origin]);
        while let Some(node) = queue.pop_front() {
            let next = distance[node] + 1;
            // A report's neighbours are keys (nodes offset by R), a key's are reports.
            let (neighbours, offset) = if node < self.reports.len() {
                (self.keys_of(node), self.reports.len())
            } else {
                (self.reports_of((node - self.reports.len()) as u32), 0)
            };
            for neighbour in neighbours.iter().map(|&n| offset + n as usize) {
                if distance[neighbour] == u32::MAX {
                    distance[neighbour] = next;
                    if neighbour == target {
                        return distance;
                    }
                    queue.push_back(neighbour);
                }
            }
        }
        distance
    }
}

/// Compressed adjacency from `(node, neighbour)` pairs sorted by node: row starts and neighbours.
fn adjacency(nodes: usize, sorted_edges: impl Iterator<Item = (u32, u32)>) -> (Vec<usize>, Vec<u32>) {
    let mut start = vec![0; nodes + 1];
    let mut neighbours = Vec::new();
    for (node, neighbour) in sorted_edges {
        start[node as usize + 1] += 1;
        neighbours.push(neighbour);
    }
    for i in 0..nodes {
        start[i + 1] += start[i];
    }
    (start, neighbours)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn keyed(links: &[(i64, &str)]) -> Vec<(i64, String)> {
        links.iter().map(|&(r, k)| (r, k.to_owned())).collect()
    }

    fn chain(steps: &[LinkStep]) -> Vec<(i64, Option<&str>)> {
        steps.iter().map(|s| (s.report_id, s.via_key.as_deref())).collect()
    }

    #[test]
    fn reports_sharing_identifiers_directly_or_through_others_are_one_component() {
        // 1-(100)-2-(101)-3 ; 4 alone ; 5-(102)-6 ; 7 appears only in a link
        let links = [(1, 100), (2, 100), (2, 101), (3, 101), (5, 102), (6, 102), (7, 103)];
        assert_eq!(components(&[6, 4, 3, 2, 1, 5], &links), vec![vec![1, 2, 3], vec![4], vec![5, 6], vec![7]]);
    }

    #[test]
    fn identifier_ids_are_their_own_space() {
        // Report 2 and identifier 2 are different nodes.
        assert_eq!(components(&[1, 2], &[(1, 2)]), vec![vec![1], vec![2]]);
    }

    #[test]
    fn no_reports_no_components_and_duplicates_count_once() {
        assert_eq!(components(&[], &[]), Vec::<Vec<i64>>::new());
        assert_eq!(components(&[3, 3, -1], &[(3, 9), (3, 9), (-1, 9)]), vec![vec![-1, 3]]);
    }

    #[test]
    fn a_large_chain_is_one_component() {
        // 200,000 reports chained pairwise through 199,999 identifiers, shuffled.
        let n = 200_000i64;
        let mut links: Vec<(i64, i64)> = (1..n).flat_map(|i| [(i - 1, i), (i, i)]).collect();
        links.reverse();
        links.swap(0, 1000);
        let parts = components(&[], &links);
        assert_eq!(parts.len(), 1);
        assert_eq!(parts[0].len(), n as usize);
        assert_eq!(parts[0].first(), Some(&0));
        assert_eq!(parts[0].last(), Some(&(n - 1)));
    }

    #[test]
    fn the_shortest_chain_names_each_shared_key() {
        let links = keyed(&[
            (1, "iban:A"),
            (2, "iban:A"),
            (2, "tel:+44"),
            (3, "tel:+44"),
            (3, "domain:x"),
            (4, "domain:x"),
            // A shortcut from 1 to 4 through 9.
            (1, "evm:0x1"),
            (9, "evm:0x1"),
            (9, "evm:0x2"),
            (4, "evm:0x2"),
        ]);
        let steps = shortest_link(&links, 1, 4).expect("linked");
        assert_eq!(chain(&steps), vec![(1, Some("evm:0x1")), (9, Some("evm:0x2")), (4, None)]);
        let steps = shortest_link(&links, 1, 3).expect("linked");
        assert_eq!(chain(&steps), vec![(1, Some("iban:A")), (2, Some("tel:+44")), (3, None)]);
        let back = shortest_link(&links, 3, 1).expect("linked");
        assert_eq!(chain(&back), vec![(3, Some("tel:+44")), (2, Some("iban:A")), (1, None)]);
    }

    #[test]
    fn equal_chains_prefer_smaller_reports_then_smaller_keys() {
        let links = keyed(&[(1, "b"), (1, "a"), (5, "b"), (3, "a"), (5, "z"), (3, "z"), (7, "z"), (3, "y"), (7, "y")]);
        // 1→3→7 and 1→5→7 are both two hops; 3 < 5. 3 and 7 share y and z; y < z.
        assert_eq!(chain(&shortest_link(&links, 1, 7).unwrap()), vec![(1, Some("a")), (3, Some("y")), (7, None)]);
    }

    #[test]
    fn unlinked_or_unknown_reports_have_no_chain_and_a_report_reaches_itself() {
        let links = keyed(&[(1, "a"), (2, "a"), (3, "b")]);
        assert_eq!(shortest_link(&links, 1, 3), None);
        assert_eq!(shortest_link(&links, 1, 42), None);
        assert_eq!(chain(&shortest_link(&links, 42, 42).unwrap()), vec![(42, None)]);
        assert_eq!(chain(&shortest_link(&links, 2, 1).unwrap()), vec![(2, Some("a")), (1, None)]);
    }

    fn links_strategy() -> impl Strategy<Value = Vec<(i64, i64)>> {
        // Few ids on each side so that components of every size show up.
        proptest::collection::vec((0i64..30, 0i64..25), 0..60)
    }

    proptest! {
        #[test]
        fn the_partition_does_not_depend_on_link_order(
            links in links_strategy(),
            reports in proptest::collection::vec(0i64..40, 0..10),
            seed in any::<u64>(),
        ) {
            let expected = components(&reports, &links);
            let mut shuffled = links.clone();
            // A deterministic Fisher–Yates from the seed.
            let mut state = seed | 1;
            for i in (1..shuffled.len()).rev() {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                shuffled.swap(i, (state % (i as u64 + 1)) as usize);
            }
            let mut reversed_reports = reports.clone();
            reversed_reports.reverse();
            prop_assert_eq!(components(&reversed_reports, &shuffled), expected.clone());

            // Every report appears exactly once, and components are ordered as promised.
            let mut all: Vec<i64> = expected.iter().flatten().copied().collect();
            let total = all.len();
            all.sort_unstable();
            all.dedup();
            prop_assert_eq!(all.len(), total);
            prop_assert!(expected.iter().all(|c| c.windows(2).all(|w| w[0] < w[1])));
            prop_assert!(expected.windows(2).all(|w| w[0][0] < w[1][0]));
        }

        #[test]
        fn one_component_exactly_when_a_chain_exists(links in links_strategy()) {
            let keyed: Vec<(i64, String)> = links.iter().map(|&(r, i)| (r, format!("k{i}"))).collect();
            let parts = components(&[], &links);
            let component_of = |id: i64| parts.iter().position(|c| c.contains(&id));
            let reports: Vec<i64> = parts.iter().flatten().copied().collect();
            for &a in &reports {
                for &b in &reports {
                    let found = shortest_link(&keyed, a, b);
                    prop_assert_eq!(found.is_some(), component_of(a) == component_of(b), "{} {}", a, b);
                    let Some(steps) = found else { continue };
                    prop_assert_eq!(steps.first().map(|s| s.report_id), Some(a));
                    prop_assert_eq!(steps.last().map(|s| (s.report_id, s.via_key.clone())), Some((b, None)));
                    let mut visited: Vec<i64> = steps.iter().map(|s| s.report_id).collect();
                    visited.sort_unstable();
                    visited.dedup();
                    prop_assert_eq!(visited.len(), steps.len(), "a shortest chain never revisits a report");
                    for pair in steps.windows(2) {
                        let key = pair[0].via_key.clone().expect("every step but the last names a key");
                        prop_assert!(keyed.contains(&(pair[0].report_id, key.clone())));
                        prop_assert!(keyed.contains(&(pair[1].report_id, key)));
                    }
                    // The chain does not depend on the order of the links either.
                    let mut reversed = keyed.clone();
                    reversed.reverse();
                    prop_assert_eq!(shortest_link(&reversed, a, b), Some(steps));
                }
            }
        }
    }
}
