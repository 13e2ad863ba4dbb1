using Dashboard.Engine.Policies;
using Dashboard.Runs.Checkpoints;
using Dashboard.Runs.Contracts;
using Dashboard.Runs.Evaluation;
using Dashboard.Runs.Events;
using Dashboard.Runs.Launching;
using Dashboard.Runs.Management;
using Dashboard.Web.Components.Controls;
using Microsoft.AspNetCore.Components;

namespace Dashboard.Web.Components.Pages;

public sealed partial class RunDetail : ComponentBase, IDisposable
{
    private RunDto? _run;
    private List<MetricDto> _metrics = [];
    private readonly RunCheckpoints _checkpoints = new();
    private ProgressDto? _progress;
    private IDisposable? _subscription;
    private bool _notFound;
    private bool _deleted;
    private bool _showSystem;
    private bool _loaded;
    private bool _stopping;
    private bool _busy;
    private string? _message;
    private CheckpointDto? _best;
    private int? _selectedId;
    private int? _resumeEpochs;
    private string? _selectionNote;
    private IReadOnlyList<OverlayCurve> _overlays = [];
    private IReadOnlyList<StepAncestor> _stepAncestors = [];
    private HashSet<int> _branchIds = [];
    private ModelDescriptionDto? _model;
    private bool _perStep;

    [Parameter]
    public int RunId { get; set; }

    [Inject]
    public required RunService RunService { get; set; }

    [Inject]
    public required TrainingEventBroadcaster Broadcaster { get; set; }

    [Inject]
    public required CheckpointQueries Checkpoints { get; set; }

    [Inject]
    public required CheckpointMaintenance Maintenance { get; set; }

    [Inject]
    public required RunLauncher Launcher { get; set; }

    [Inject]
    public required NavigationManager Navigation { get; set; }

    [Inject]
    public required CheckpointInspector Inspector { get; set; }

    protected override Task OnParametersSetAsync() => LoadOrWaitAsync();

    private async Task LoadAsync()
    {
        _subscription?.Dispose();

        // The chart reads its history only when it is created, so it must not be rendered before the history is here;
        // events handled meanwhile (progress comes several times a second) would otherwise render it empty.
        _loaded = false;
        _deleted = false;

        // Subscribe before reading, so nothing published in between is lost: events handled while the history is read
        // (they run whenever a read awaits) are merged into it, not overwritten by a read that started before them.
        _metrics = [];
        _checkpoints.Reset([]);
        _subscription = Broadcaster.Subscribe(OnEventAsync, RunId);
        _run = await RunService.GetAsync(RunId);
        _notFound = _run is null;
        if (_run is not null)
        {
            var history = await RunService.MetricsAsync(RunId) ?? [];
            var lastRead = history.Count > 0 ? history[^1].Epoch : 0;
            _metrics = [.. history, .. _metrics.Where(m => m.Epoch > lastRead)];
            _checkpoints.Load(await RunService.CheckpointsAsync(RunId) ?? []);
            await RefreshBestAsync();

            // What the fine-tune form offers: datasets, the model's freezable modules and its classes.
            _model = (await Inspector.DescribeModelAsync(RunId)).Value;
            await LoadLineageAsync(_run);
        }

        _loaded = true;
    }

    private string CompareLink()
    {
        IEnumerable<int> ids = [RunId, .. _run?.ParentRunId is { } parent ? [parent] : Array.Empty<int>(), .. _branchIds];
        return $"compare?runs={string.Join(",", ids.Distinct())}";
    }

    private void OpenRun(int runId) => Navigation.NavigateTo($"runs/{runId}");

    public void Dispose()
    {
        _subscription?.Dispose();
        _watch?.Dispose();
        _closed.Cancel();
        _closed.Dispose();
    }

    /// <summary>
    /// The curves around this run: its parent's up to the fork (faded) and its branches from theirs (dashed, toggled
    /// from the legend). Fine-tunes count their own epochs, so they are not drawn on the parent's axis. The per-step chart
    /// draws the whole line of runs this one continues, since each step range belongs to exactly one of them.
    /// </summary>
    private async Task LoadLineageAsync(RunDto run)
    {
        string[] palette = ["#0891b2", "#db2777", "#65a30d", "#7c3aed", "#ca8a04"];
        var overlays = new List<OverlayCurve>();
        var ancestors = await AncestorsAsync(run);
        _stepAncestors = [.. ancestors.Select(a => new StepAncestor(a.RunId, a.Fork.Step))];
        if (ancestors is [var (parentId, fork), ..])
        {
            var parentMetrics = (await RunService.MetricsAsync(parentId) ?? []).Where(m => m.Epoch <= fork.Epoch).ToList();
            overlays.Add(new OverlayCurve($"parent-{parentId}-loss", $"run #{parentId} loss", "#2563eb", Faded: true, [.. parentMetrics.Select(m => (m.Epoch, m.Loss))]));
            overlays.Add(new OverlayCurve($"parent-{parentId}-val", $"run #{parentId} val_loss", "#ea580c", Faded: true, [.. parentMetrics.Select(m => (m.Epoch, m.ValLoss))]));
        }

        var branches = (await RunService.ChildrenAsync(run.Id)).Where(c => c.Config.FineTune is null && c.ParentCheckpointId is not null).ToList();
        foreach (var (branch, index) in branches.Select((b, i) => (b, i)))
        {
            var forkEpoch = (await Checkpoints.GetAsync(branch.ParentCheckpointId!.Value))?.Epoch ?? 0;
            var start = _metrics.Where(m => m.Epoch == forkEpoch).Select(m => (m.Epoch, m.ValLoss));
            var points = (await RunService.MetricsAsync(branch.Id) ?? []).Select(m => (m.Epoch, m.ValLoss));
            overlays.Add(new OverlayCurve($"branch-{branch.Id}", $"branch #{branch.Id} val_loss", palette[index % palette.Length], Faded: false, [.. start.Concat(points)], LiveRunId: branch.Id));
        }

        _overlays = overlays;
        _branchIds = [.. branches.Select(b => b.Id)];
    }

    /// <summary>
    /// The runs this one continues, nearest first, each with the checkpoint its child forked from. The walk ends at a root,
    /// at a fine-tune (it counts its own epochs and steps from zero, so nothing before it lines up) or at a gap in the
    /// records, and never visits a run twice.
    /// </summary>
    private async Task<List<(int RunId, CheckpointDto Fork)>> AncestorsAsync(RunDto run)
    {
        var ancestors = new List<(int RunId, CheckpointDto Fork)>();
        HashSet<int> seen = [run.Id];
        var current = run;
        while (current is { ParentRunId: { } parentId, ParentCheckpointId: { } forkId, Config.FineTune: null }
            && seen.Add(parentId)
            && await Checkpoints.GetAsync(forkId) is { } fork
            && await RunService.GetAsync(parentId) is { } parent)
        {
            ancestors.Add((parentId, fork));
            current = parent;
        }

        return ancestors;
    }

    /// <summary>What a click or drag does on the chart in view; per step there are no checkpoints to pick.</summary>
    private string ChartHint()
    {
        if (!_perStep)
        {
            return "Click a checkpoint's marker to pick it, or a point of the curve for the checkpoint of that epoch.";
        }

        var hint = "Drag across the chart to zoom in, down to single steps; double-click for the whole run. Where a point "
            + "stands for many steps, the shaded band spans their lowest to highest loss.";
        return _stepAncestors is [var parent, ..]
            ? $"{hint} Up to the fork at step {parent.UpToStep:N0}, the lighter curve is from {string.Join(" and ", _stepAncestors.Select(a => $"run #{a.RunId}"))}."
            : hint;
    }

    private Task OnEventAsync(TrainingEvent trainingEvent) => InvokeAsync(async () =>
    {
        switch (trainingEvent)
        {
            case EpochCompletedEvent e:
                if (_metrics.Count == 0 || e.Metrics.Epoch > _metrics[^1].Epoch)
                {
                    _metrics.Add(e.Metrics);
                }

                _run = await RunService.GetAsync(RunId) ?? _run;
                break;
            case CheckpointSavedEvent e:
                _checkpoints.Add(e.Checkpoint);
                await RefreshBestAsync();
                break;
            case CheckpointRemovedEvent e:
                Replace(e.Checkpoint);
                await RefreshBestAsync();
                break;
            case ProgressEvent e:
                _progress = e.Progress;
                break;
            case RunDeletedEvent:
                // Deleted in another tab: what this page shows is gone, so it says so instead of offering stale actions.
                _deleted = true;
                _progress = null;
                break;
            case RunUpdatedEvent e:
                _run = e.Run;
                break;
            case LiveFeedChangedEvent e:
                await OnFeedChangedAsync(e);
                break;
            case RunStatusChangedEvent e:
                _run = await RunService.GetAsync(RunId) ?? _run;
                if (!e.IsActive)
                {
                    _progress = null;
                    _stopping = false;
                }

                break;
        }

        StateHasChanged();
    });

    private async Task StopAsync()
    {
        _stopping = true;
        var result = await RunService.StopAsync(RunId);
        _message = result.Succeeded ? "Stopping after the current batch; a checkpoint is being written." : result.Problem;
        if (!result.Succeeded)
        {
            _stopping = false;
        }
    }

    /// <summary>The API's "checkpoint now"; its refusal for a run that stopped meanwhile is put in the page's words.</summary>
    private async Task CheckpointNowAsync()
    {
        var result = await RunService.RequestCheckpointAsync(RunId);
        _message = result switch
        {
            { Succeeded: true } => "A checkpoint will be written after the current batch.",
            { Status: 409 } => "The run is not training any more.",
            _ => result.Problem,
        };
    }

    /// <param name="epochs">The target epoch count; null keeps the run's (or one more than the checkpoint's).</param>
    private async Task ResumeAsync(CheckpointDto checkpoint, int? epochs = null)
    {
        // A double click delivers the second click before the disabled button has been re-rendered in the browser.
        if (_busy)
        {
            return;
        }

        _busy = true;
        try
        {
            var result = await Launcher.ResumeAsync(checkpoint.Id, new ResumeRequest(epochs));
            if (!result.Succeeded)
            {
                _message = result.Problem ?? string.Join(" ", result.Errors!.SelectMany(e => e.Value));
                return;
            }

            if (result.Value!.RunId == RunId)
            {
                _message = $"Resuming from checkpoint #{checkpoint.Id} (epoch {checkpoint.Epoch}).";
            }
            else
            {
                Navigation.NavigateTo($"runs/{result.Value.RunId}");
            }
        }
        finally
        {
            _busy = false;
        }
    }

    private async Task PinAsync(CheckpointDto checkpoint)
    {
        var result = await Maintenance.SetPinnedAsync(checkpoint.Id, !checkpoint.Pinned);
        if (result.Value is { } updated)
        {
            Replace(updated);
        }
        else
        {
            _message = result.Problem;
        }
    }

    /// <summary>Looks for missing checkpoints' files again (a remounted volume, a folder put back) and shows what came back.</summary>
    private async Task ReauditAsync()
    {
        _busy = true;
        try
        {
            var result = await Maintenance.ReauditAsync(acceptMissing: false);
            _message = result.Value is { } report
                ? $"Re-audit: {report.Restored} checkpoint(s) back, {report.StillMissing} still missing, {report.Failed} failing verification."
                : result.Problem;
            _checkpoints.Reset(await RunService.CheckpointsAsync(RunId) ?? []);
        }
        finally
        {
            _busy = false;
        }
    }

    private async Task DeleteAsync(CheckpointDto checkpoint)
    {
        var result = await Maintenance.DeleteAsync(checkpoint.Id);
        _message = result.Succeeded ? $"Checkpoint #{checkpoint.Id} deleted; its row stays for the record." : result.Problem;
        if (result.Value is { } updated)
        {
            Replace(updated);
        }

        await RefreshBestAsync();
    }

    /// <summary>The one list changes; the chart, the table and the panel all read it, so nothing else needs telling.</summary>
    private void Replace(CheckpointDto checkpoint) => _checkpoints.Update(checkpoint);

    /// <summary>
    /// Picks the checkpoint of a clicked epoch: the durable one taken at that epoch's end, else the nearest kept one,
    /// saying so.
    /// </summary>
    private void SelectEpoch(int epoch)
    {
        var kept = _checkpoints.Where(c => c.IsDurable).ToList();
        var exact = kept.Where(c => c.Epoch == epoch && c.Metrics.ContainsKey("valLoss")).MaxBy(c => c.Step);
        if (exact is not null)
        {
            Select(exact, null);
            return;
        }

        var nearest = kept.OrderBy(c => Math.Abs(c.Epoch - epoch)).ThenByDescending(c => c.Epoch).FirstOrDefault();
        if (nearest is null)
        {
            _selectedId = null;
            _message = $"No checkpoint of this run is kept, so epoch {epoch} cannot be resumed or exported.";
            return;
        }

        Select(nearest, $"No checkpoint was kept at epoch {epoch}; the nearest kept one is from epoch {nearest.Epoch}.");
    }

    /// <summary>A marker clicked on the chart: exactly that checkpoint.</summary>
    private void SelectCheckpoint(int checkpointId)
    {
        if (_checkpoints.Find(checkpointId) is { } checkpoint)
        {
            Select(checkpoint, null);
        }
    }

    private void Select(CheckpointDto checkpoint, string? note)
    {
        _selectedId = checkpoint.Id;
        _selectionNote = note;
        _resumeEpochs = Math.Max(_run?.Epochs ?? 0, checkpoint.Epoch + 1);
    }

    /// <summary>By the run's own monitor and mode, as the checkpoint policy judged "best" while training.</summary>
    private async Task RefreshBestAsync()
    {
        var policy = _run?.Config.Checkpoint ?? new CheckpointPolicy();
        var best = await Checkpoints.BestAsync(RunId, policy.Monitor, policy.Mode);
        _best = best.Value;
    }

}
