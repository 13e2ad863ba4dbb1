using Dashboard.Runs.Contracts;
using Dashboard.Runs.Events;
using Dashboard.Runs.Management;
using Microsoft.AspNetCore.Components;

namespace Dashboard.Web.Components.Pages;

public sealed partial class Runs : ComponentBase, IDisposable
{
    private List<RunDto>? _runs;
    private IDisposable? _subscription;
    private string? _text;
    private string? _tag;
    private bool _archived;
    private string _sort = "created";
    private bool _descending = true;
    private string? _orderError;

    /// <summary>The filter lives in the URL (<c>?q=&amp;tag=&amp;archived=true</c>) so a filtered list can be bookmarked and shared.</summary>
    [SupplyParameterFromQuery(Name = "q")]
    public string? Text { get; set; }

    [SupplyParameterFromQuery(Name = "tag")]
    public string? Tag { get; set; }

    [SupplyParameterFromQuery(Name = "archived")]
    public bool? Archived { get; set; }

    /// <summary>The order, in the API's spelling (<c>?sort=bestValLoss&amp;order=asc</c>); absent means newest first.</summary>
    [SupplyParameterFromQuery(Name = "sort")]
    public string? Sort { get; set; }

    [SupplyParameterFromQuery(Name = "order")]
    public string? Order { get; set; }

    [Inject]
    public required NavigationManager Navigation { get; set; }

    [Inject]
    public required RunService RunService { get; set; }

    [Inject]
    public required TrainingEventBroadcaster Broadcaster { get; set; }

    private bool IsFiltered => !string.IsNullOrEmpty(Text) || !string.IsNullOrEmpty(Tag) || Archived == true;

    private RunFilter Filter => new(Tag: Tag?.Trim(), Text: Text?.Trim(), IncludeArchived: Archived == true);

    protected override void OnInitialized() => _subscription = Broadcaster.Subscribe(OnEventAsync);

    /// <summary>The order the URL asks for, or newest first (with <see cref="_orderError"/> saying why) when it is not one.</summary>
    private RunOrder ListOrder { get; set; } = RunOrder.Default;

    protected override async Task OnParametersSetAsync()
    {
        _text = Text;
        _tag = Tag;
        _archived = Archived == true;
        var (order, sortError, orderError) = RunOrder.Parse(Sort, Order);
        var message = sortError ?? orderError;
        _orderError = message is null ? null : $"{message} Showing newest first.";
        ListOrder = order ?? RunOrder.Default;
        _sort = RunOrder.NameOf(ListOrder.Sort);
        _descending = ListOrder.Descending;
        _runs = [.. await RunService.ListAsync(Filter, ListOrder)];
    }

    public void Dispose() => _subscription?.Dispose();

    // Defaults stay out of the URL, so the plain list keeps its plain address.
    private void ApplyFilter() => Navigation.NavigateTo(Navigation.GetUriWithQueryParameters(new Dictionary<string, object?>
    {
        ["q"] = string.IsNullOrWhiteSpace(_text) ? null : _text.Trim(),
        ["tag"] = string.IsNullOrWhiteSpace(_tag) ? null : _tag.Trim(),
        ["archived"] = _archived ? true : null,
        ["sort"] = _sort == RunOrder.NameOf(RunSortKey.Created) ? null : _sort,
        ["order"] = _descending ? null : "asc",
    }));

    private void OnSortChanged(ChangeEventArgs e)
    {
        _sort = e.Value as string ?? RunOrder.NameOf(RunSortKey.Created);
        ApplyFilter();
    }

    private void ToggleOrder()
    {
        _descending = !_descending;
        ApplyFilter();
    }

    private string TagHref(string tag) => Navigation.GetUriWithQueryParameters(new Dictionary<string, object?> { ["tag"] = tag });

    /// <summary>The same conditions as <see cref="RunService.ListAsync"/>, for runs that arrive by event rather than query.</summary>
    private bool Matches(RunDto run)
    {
        var filter = Filter;
        return (filter.IncludeArchived || !run.Archived)
            && (string.IsNullOrEmpty(filter.Tag) || (run.Tags ?? []).Contains(filter.Tag, StringComparer.Ordinal))
            && (string.IsNullOrEmpty(filter.Text) || run.Name.Contains(filter.Text, StringComparison.OrdinalIgnoreCase));
    }

    private async Task ReloadAsync()
    {
        var runs = await RunService.ListAsync(Filter, ListOrder);
        await InvokeAsync(() =>
        {
            _runs = [.. runs];
            StateHasChanged();
        });
    }

    private async Task OnEventAsync(TrainingEvent trainingEvent)
    {
        // Deleted in another tab (or by a script): the row goes, without a query.
        if (trainingEvent is RunDeletedEvent deleted)
        {
            await InvokeAsync(() =>
            {
                if (_runs?.RemoveAll(r => r.Id == deleted.RunId) > 0)
                {
                    StateHasChanged();
                }
            });
            return;
        }

        // Status changes add runs and move them along; epoch events move the epoch and best loss; updates rename, retag,
        // archive or unarchive. Progress is too chatty.
        if (trainingEvent is not (RunStatusChangedEvent or EpochCompletedEvent or RunUpdatedEvent))
        {
            return;
        }

        // An unarchived (or renamed into the filter) run belongs wherever its age puts it, not at the top.
        var returning = trainingEvent is RunUpdatedEvent && _runs is { } shown && shown.TrueForAll(r => r.Id != trainingEvent.RunId);
        if (ListOrder != RunOrder.Default || returning)
        {
            // In another order any change may move a run anywhere (a new best loss, a finish): the query places it.
            await ReloadAsync();
            return;
        }

        var run = await RunService.GetAsync(trainingEvent.RunId);
        await InvokeAsync(() =>
        {
            if (run is null || _runs is null)
            {
                return;
            }

            var index = _runs.FindIndex(r => r.Id == run.Id);
            if (index >= 0 && !Matches(run))
            {
                // Archived (or renamed out of the filter) elsewhere: this list no longer shows it.
                _runs.RemoveAt(index);
            }
            else if (index >= 0)
            {
                _runs[index] = run;
            }
            else if (Matches(run))
            {
                _runs.Insert(0, run);
            }

            StateHasChanged();
        });
    }
}
