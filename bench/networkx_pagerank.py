#!/usr/bin/env python3
"""networkx's PageRank on an edge list, timed, as the reference for `globallm analyze --graph`.

Usage: bench/networkx_pagerank.py EDGES.tsv [METRICS.tsv]

Reads the edge list into an nx.DiGraph (as globallm reads it), times nx.pagerank(G), and, given
the TSV `globallm analyze` wrote for the same file, reports the largest difference between the
two PageRank vectors. Prints the times, the iterations' count and the peak memory.
"""

import resource
import sys
import time

import networkx as nx


def main():
    edges = sys.argv[1]
    started = time.perf_counter()
    graph = nx.DiGraph()
    with open(edges, encoding="utf-8") as f:
        graph.add_edges_from(
            (a.strip(), b.strip())
            for a, b in (line.strip().split("\t") for line in f if line.strip() and not line.lstrip().startswith("#"))
        )
    read = time.perf_counter() - started
    print(f"networkx {nx.__version__}: read {graph.number_of_nodes()} nodes, {graph.number_of_edges()} edges in {read:.1f} s")
    phase = time.perf_counter()
    rank = nx.pagerank(graph)
    pagerank = time.perf_counter() - phase
    print(f"networkx: nx.pagerank in {pagerank:.2f} s; total {time.perf_counter() - started:.1f} s")
    if len(sys.argv) > 2:
        worst = 0.0
        rows = 0
        with open(sys.argv[2], encoding="utf-8") as f:
            next(f)
            for line in f:
                node, ours = line.split("\t", 2)[:2]
                worst = max(worst, abs(float(ours) - rank[node]))
                rows += 1
        assert rows == graph.number_of_nodes(), f"{rows} rows for {graph.number_of_nodes()} nodes"
        print(f"networkx: max |globallm - networkx| PageRank over {rows} nodes = {worst:.3e}")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"networkx: peak memory {peak:.0f} MB")


if __name__ == "__main__":
    main()
