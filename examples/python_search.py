#!/usr/bin/python3
"""A tiny semantic search with the libemb Python binding and the default model
(all-MiniLM-L6-v2 once `make models` has fetched it, else the built-in demo).

    PYTHONPATH=bindings/python /usr/bin/python3 examples/python_search.py "How do plants make food?"

Embeds the passages once (kind="passage"), the question as a query, and prints
the passages ranked by cosine similarity, best first. Pass another model file
with EMB_MODEL=path.h5 (e.g. a converted e5-small-v2).
"""

import sys

import libemb

PASSAGES = [
    "The Eiffel Tower is a wrought-iron tower in Paris, built for the 1889 World's Fair.",
    "Photosynthesis is the process by which green plants use sunlight, water and carbon dioxide to make their own food.",
    "The heart is a muscular organ that pumps blood through the body.",
    "A violin is a string instrument played with a bow.",
    "A volcano is a mountain that erupts lava, ash and gas from inside the earth.",
    "Bread is baked from a dough of flour, water and yeast.",
    "The moon orbits the earth about once every 27 days.",
    "Elephants are large grey animals with a long trunk and big ears.",
]


def search(model, question, passages, top=3):
    """The `top` passages closest to the question, as (score, passage), best first."""
    vectors = model.encode(passages, kind="passage")
    query = model.encode(question, kind="query")  # one str -> one vector
    scored = [(libemb.cosine(query, v), p) for v, p in zip(vectors, passages)]
    return sorted(scored, key=lambda sp: -sp[0])[:top]


def main():
    question = sys.argv[1] if len(sys.argv) > 1 else "How do plants make food?"
    with libemb.Model() as model:  # $EMB_MODEL, else the built-in demo model
        print("model: %s (%d dimensions)" % (model.path, model.dim))
        for score, passage in search(model, question, PASSAGES):
            print("%.4f\t%s" % (score, passage))


if __name__ == "__main__":
    main()
