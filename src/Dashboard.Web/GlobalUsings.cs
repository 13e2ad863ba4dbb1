global using Dashboard.Web.Contracts;
global using Dashboard.Web.Services;
