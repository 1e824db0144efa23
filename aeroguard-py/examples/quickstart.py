import numpy as np
import aeroguard

est = aeroguard.fuse([4.02, 3.97, 4.05, 6.80, 4.00], f=1, half_width=0.2)   # one pressure sensor lies
print(f"fused {est.value:.3f} bar, excluded {est.excluded}")
normal = np.random.default_rng(0).normal(size=(500, 3))
forest = aeroguard.IsolationForest(contamination=0.01, random_state=0).fit(normal)
print("predict:", forest.predict([[0.1, -0.2, 0.3], [8.0, 8.0, 8.0]]))         # [ 1 -1]
with aeroguard.Client("memory", node="pump-a") as client:
    lead = client.election("pump-1").campaign()
    print("leader with fencing token", lead.token)

import pickle
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

pipe = make_pipeline(StandardScaler(), aeroguard.IsolationForest(contamination=0.01)).fit(normal)
rules = aeroguard.RuleSet(rules=[{"rule": "range", "sensor": 0, "min": -4.0, "max": 4.0}]).fit(normal)
profile = aeroguard.ClusterProfile(n_clusters=2, whiten=True).fit(normal)
vote = aeroguard.Ensemble.of([rules, profile, forest], m=2)            # members and M of your choosing
print(vote.decide(np.array([[9.0, 0.0, 0.0]]))[0].members)              # who voted what
vote = pickle.loads(pickle.dumps(vote))                                  # models pickle (joblib, multiprocessing)
history = aeroguard.History.memory()                                     # or Client("redis", ...).history()
history.append("pump-1", lead.token, [(1_700_000_000_000, 4.01)], owner="pump-a")  # fenced: token + owner
print(history.range("pump-1"))
