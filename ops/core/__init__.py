"""The operations' domain logic, the same offline and on AWS.

- `readside`: what runs next to the database (the in-VPC ops function): apply, compare, repair, tombstone,
  totals, and the runs' checkpoints (`runs`), through the projector's own code;
- `table`: the orders table, its stream and the projector's on-failure queue (the ops driver function);
- `rebuild`, `reconcile`: each a `start` / `segment` / `finish` step, driven by the ops state machine on AWS
  (a Map over the segments) or by `inline.run` in one process;
- `redrive`: the on-failure queue, message by message;
- `clients`: the read side called in process or through its Lambda function; `handlers`: the two functions."""

DRIFT_METRIC = "ReconcileDrift"  # what the driver publishes after a reconcile: the drift it found
