using Dashboard.Runs.Contracts;
using Dashboard.Runs.Management;
using Microsoft.AspNetCore.Components;

namespace Dashboard.Web.Components.Controls;

public sealed partial class RunManagement : ComponentBase
{
    private static readonly char[] TagSeparators = [' ', ',', '\t', '\n', '\r'];

    private bool _editing;
    private bool _busy;
    private string _name = "";
    private string _tags = "";
    private string _notes = "";
    private IReadOnlyDictionary<string, string[]> _errors = new Dictionary<string, string[]>();
    private RunDeletionPlan? _deletion;
    private string? _message;

    [Parameter, EditorRequired]
    public required RunDto Run { get; set; }

    /// <summary>Called with the run as stored after each change, so the page shows what the database holds.</summary>
    [Parameter]
    public EventCallback<RunDto> RunChanged { get; set; }

    [Inject]
    public required RunService RunService { get; set; }

    [Inject]
    public required RunDeletion RunDeletion { get; set; }

    [Inject]
    public required NavigationManager Navigation { get; set; }

    private void StartEditing()
    {
        _name = Run.Name;
        _tags = string.Join(' ', Run.Tags ?? []);
        _notes = Run.Notes;
        _errors = new Dictionary<string, string[]>();
        _message = null;
        _editing = true;
    }

    private async Task SaveAsync()
    {
        var tags = _tags.Split(TagSeparators, StringSplitOptions.RemoveEmptyEntries);
        if (await UpdateAsync(new UpdateRunRequest { Name = _name, Tags = tags, Notes = _notes.ReplaceLineEndings("\n") }))
        {
            _editing = false;
        }
    }

    private Task ToggleArchivedAsync() => UpdateAsync(new UpdateRunRequest { Archived = !Run.Archived });

    private async Task<bool> UpdateAsync(UpdateRunRequest request)
    {
        _busy = true;
        _message = null;
        try
        {
            var result = await RunService.UpdateAsync(Run.Id, request);
            if (result.Errors is { } errors)
            {
                _errors = errors;
                return false;
            }

            if (result.Problem is { } problem)
            {
                _message = problem;
                return false;
            }

            _errors = new Dictionary<string, string[]>();
            Run = result.Value!;
            await RunChanged.InvokeAsync(Run);
            return true;
        }
        finally
        {
            _busy = false;
        }
    }

    private async Task AskDeleteAsync()
    {
        _message = null;
        _deletion = await RunDeletion.PlanAsync(Run.Id);
        if (_deletion is null)
        {
            _message = $"Run {Run.Id} is already gone.";
        }
    }

    private async Task DeleteAsync()
    {
        _busy = true;
        try
        {
            // force: the confirmation named the pinned checkpoints, so confirming is the user's consent to delete them too.
            var result = await RunDeletion.DeleteAsync(Run.Id, force: true);
            _deletion = null;
            if (result.Succeeded)
            {
                Navigation.NavigateTo("");
                return;
            }

            _message = result.Problem;
        }
        finally
        {
            _busy = false;
        }
    }
}
