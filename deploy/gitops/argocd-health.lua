-- Argo CD health for faultline.dev/ChaosExperiment.
--
-- Install it under resource.customizations.health.faultline.dev_ChaosExperiment
-- in the argocd-cm ConfigMap (see README.md beside this file).
--
-- A run in progress is Progressing; a finished run is Healthy only when
-- its verdict passed, and Degraded when it failed or was aborted, so that
-- a failed hypothesis fails the sync that carried the experiment. Stalled
-- (the operator cannot run the spec) is Degraded too.
local hs = {}

local function condition(kind)
  if obj.status == nil or obj.status.conditions == nil then
    return nil
  end
  for _, c in ipairs(obj.status.conditions) do
    if c.type == kind then
      return c
    end
  end
  return nil
end

local stalled = condition("Stalled")
if stalled ~= nil and stalled.status == "True" then
  hs.status = "Degraded"
  hs.message = stalled.message or "the operator cannot run this experiment"
  return hs
end

local generation = obj.metadata.generation
local observed = obj.status and obj.status.observedGeneration
if observed == nil or (generation ~= nil and observed < generation) then
  hs.status = "Progressing"
  hs.message = "waiting for the operator to pick up this generation"
  return hs
end

local reconciling = condition("Reconciling")
if reconciling ~= nil and reconciling.status == "True" then
  hs.status = "Progressing"
  hs.message = "run " .. (obj.status.runId or "?") .. ": " ..
    (obj.status.phase or "starting")
  return hs
end

local ready = condition("Ready")
if ready ~= nil and ready.status == "True" then
  hs.status = "Healthy"
  hs.message = ready.message or "the hypothesis held"
  return hs
end

local complete = condition("Complete")
if complete ~= nil and complete.status == "True" then
  hs.status = "Degraded"
  hs.message = (obj.status.verdict or complete.reason or "Failed") .. ": " ..
    (obj.status.message or "")
  return hs
end

hs.status = "Progressing"
hs.message = "waiting for the run to start"
return hs
