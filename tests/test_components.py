"""Connected components: the per-node star steps, the union-find, and LabelComponents on
Beam checked against networkx on every shape that stresses it."""

import random

import apache_beam as beam
import networkx as nx
import pytest
from apache_beam.metrics.metric import MetricsFilter
from apache_beam.runners.portability.fn_api_runner import FnApiRunner
from apache_beam.testing.test_pipeline import TestPipeline as BeamTestPipeline
from apache_beam.testing.util import assert_that, equal_to

from stackpipe.beam.components import NAMESPACE, LabelComponents
from stackpipe.beam.options import make_pipeline
from stackpipe.dedup.components import components_in_memory, large_star, small_star


def random_ids(n, rng):
    """n distinct record-like ids in random order, so id order says nothing about shape."""
    ids = {f"{rng.getrandbits(48):012x}" for _ in range(n)}
    while len(ids) < n:
        ids.add(f"{rng.getrandbits(48):012x}")
    ids = sorted(ids)
    rng.shuffle(ids)
    return ids


def expected_labels(edges):
    graph = nx.Graph()
    graph.add_edges_from(edges)
    return sorted((node, min(component)) for component in nx.connected_components(graph) for node in component)


def chain(ids):
    return list(zip(ids, ids[1:]))


def star(ids):
    centre = ids[len(ids) // 2]
    return [(centre, leaf) for leaf in ids if leaf != centre]


def small_components(ids, rng):
    """Components of 1 to 6 nodes (a singleton is a self-loop), as chains, stars or cliques."""
    edges, start = [], 0
    while start < len(ids):
        part = ids[start:start + rng.randint(1, 6)]
        start += len(part)
        shape = rng.choice(["chain", "star", "clique"])
        if len(part) == 1:
            edges.append((part[0], part[0]))
        elif shape == "chain":
            edges += chain(part)
        elif shape == "star":
            edges += star(part)
        else:
            edges += [(a, b) for i, a in enumerate(part) for b in part[i + 1:]]
    return edges


def mixed_graph(seed=7):
    """A chain, a star, many small components, duplicates, reversed copies and self-loops."""
    rng = random.Random(seed)
    ids = random_ids(1500, rng)
    edges = chain(ids[:400]) + star(ids[400:700]) + small_components(ids[700:], rng)
    edges += rng.sample(edges, 100) + [(v, u) for u, v in rng.sample(edges, 100)]
    edges += [(u, u) for u in rng.sample(ids, 50)]
    rng.shuffle(edges)
    return edges


def run_labels(edges, pipeline=None, **kwargs):
    """Run LabelComponents on `edges`, assert it matches networkx, return the result."""
    pipeline = pipeline or BeamTestPipeline(runner=FnApiRunner())
    labels = pipeline | beam.Create(edges) | LabelComponents(**kwargs)
    assert_that(labels, equal_to(expected_labels(edges)))
    result = pipeline.run()
    result.wait_until_finish()
    return result


def counter(result, name):
    found = result.metrics().query(MetricsFilter().with_namespace(NAMESPACE).with_name(name))["counters"]
    return sum(c.committed for c in found)


# The per-node steps and the union-find.


def test_large_star_hangs_larger_neighbours_on_the_smallest():
    assert sorted(large_star("c", ["d", "b", "e", "c"])) == [("d", "b"), ("e", "b")]


def test_large_star_at_a_root_keeps_its_edges():
    assert sorted(large_star("a", ["c", "b", "c"])) == [("b", "a"), ("c", "a"), ("c", "a")]


def test_large_star_keeps_a_lone_self_loop_and_drops_others():
    assert list(large_star("a", ["a", "a"])) == [("a", "a")]
    assert list(large_star("b", ["b", "a"])) == []


def test_small_star_joins_a_node_and_its_parents_to_the_smallest():
    assert sorted(small_star("e", ["c", "a", "c", "e"])) == [("c", "a"), ("e", "a")]
    assert list(small_star("e", ["e"])) == [("e", "e")]


@pytest.mark.parametrize("seed", range(3))
def test_union_find_matches_networkx(seed):
    rng = random.Random(seed)
    ids = random_ids(500, rng)
    edges = [(rng.choice(ids), rng.choice(ids)) for _ in range(400)]
    assert sorted(components_in_memory(edges).items()) == expected_labels(edges)


# LabelComponents on Beam.


@pytest.mark.parametrize("seed", range(3))
def test_sparse_random_graph_matches_networkx(seed):
    """Erdős–Rényi around the percolation point: a giant component and many small ones."""
    rng = random.Random(seed)
    ids = random_ids(800, rng)
    edges = [(a, b) for a, b in (rng.sample(ids, 2) for _ in range(600))]
    run_labels(edges)


def test_long_chain_in_random_order_converges_within_the_default_rounds():
    result = run_labels(chain(random_ids(2000, random.Random(1))))
    assert counter(result, "remainder_edges") == 0
    assert counter(result, "round_01_changed") > 0


def test_long_chain_with_few_rounds_is_finished_from_the_remainder():
    result = run_labels(chain(random_ids(2000, random.Random(2))), rounds=2)
    assert counter(result, "remainder_edges") > 0


def test_big_star_centred_on_a_middle_id():
    run_labels(star(random_ids(3000, random.Random(3))), rounds=3)


def test_many_small_components_with_duplicates_and_self_loops():
    rng = random.Random(4)
    edges = small_components(random_ids(3000, rng), rng)
    edges += [(v, u) for u, v in edges[:500]] + edges[:500]
    run_labels(edges, rounds=4)


def test_grouped_values_read_lazily_over_the_state_api():
    """Big groups reach a worker as re-iterable pages (as on Dataflow), not as lists."""
    run_labels(mixed_graph(seed=8), BeamTestPipeline(runner=FnApiRunner(use_state_iterables=True)), rounds=5)


def test_a_graph_already_in_star_form_needs_no_rewiring():
    result = run_labels([("b", "a"), ("c", "a"), ("e", "d"), ("f", "f")], rounds=2)
    assert counter(result, "round_01_changed") == 0
    assert counter(result, "round_01_unresolved") == 0
    assert counter(result, "remainder_edges") == 0


def test_a_remainder_over_the_cap_fails_and_asks_for_more_rounds():
    pipeline = BeamTestPipeline(runner=FnApiRunner())
    pipeline | beam.Create(chain(random_ids(300, random.Random(5)))) | LabelComponents(rounds=1, max_remainder=10)
    with pytest.raises(Exception, match=r"max_remainder=10 .*raise LabelComponents\(rounds"):
        pipeline.run().wait_until_finish()


def test_edges_must_be_pairs_of_strings():
    pipeline = BeamTestPipeline(runner=FnApiRunner())
    pipeline | beam.Create([("a", 1)]) | LabelComponents(rounds=1)
    with pytest.raises(Exception, match=r"\(str, str\) edges, got \('a', 1\)"):
        pipeline.run().wait_until_finish()


@pytest.mark.parametrize("kwargs", [{"rounds": 0}, {"max_remainder": -1}])
def test_bad_arguments_are_refused_when_built(kwargs):
    with pytest.raises(ValueError, match=str(list(kwargs.values())[0])):
        LabelComponents(**kwargs)


@pytest.mark.parametrize(
    "beam_args, workers",
    [
        ([], 1),
        ([], 1),  # a rerun
        (["--runner=PortableRunner", "--job_endpoint=embed", "--environment_type=LOOPBACK"], 1),
    ],
    ids=["in_process", "rerun", "portable"],
)
def test_same_labels_on_every_runner(beam_args, workers):
    """Labels are the component minimum, so every runner and rerun must give networkx's."""
    run_labels(mixed_graph(), make_pipeline(beam_args, workers), rounds=5)
