using Dashboard.Engine.Datasets;
using Dashboard.Engine.Models;
using Dashboard.Runs.Contracts;

namespace Dashboard.Runs.Management;

/// <summary>What a run may name: the registered datasets and model architectures, as the forms list them.</summary>
public sealed class RunCatalog(DatasetRegistry datasets, ModelRegistry models)
{
    public IReadOnlyList<DatasetDto> Datasets() => [.. datasets.All.Select(DatasetDto.From)];

    public IReadOnlyList<ModelDto> Models() => [.. models.All.Select(m => new ModelDto(m.Name, m.DisplayName))];
}
