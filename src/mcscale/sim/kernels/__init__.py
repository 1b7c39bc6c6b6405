"""The numba kernels: the only package that imports numba.

- :mod:`~mcscale.sim.kernels.codes`: integer codes the encoders write and the kernels read (no numba);
- :mod:`~mcscale.sim.kernels.special`: vectorizable log, exp, normal CDF and inverse;
- :mod:`~mcscale.sim.kernels.sampling`: normals -> parameter draws;
- :mod:`~mcscale.sim.kernels.trajectory`: trajectories and streaming accumulators.

A chunk is ``draw_parameters`` then ``propagate`` (materialized), or one
``stream_chunk`` (streaming): every prior of a chunk of draws is sampled and the
trajectories propagated along the year grid, in log10 space. The
chunk's random numbers come from the numpy ``Generator`` it is handed (numba consumes
it natively, bit for bit the same stream as numpy), so a chunk's output depends only
on its seed.
"""
