"""recsys_challenge: a two-stage recommender (sequential + classic generators, CatBoost reranker) in Kedro."""

__version__ = "0.1.0"
