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
